"""Where member messages go: the built-in SMTP channel (``LOYALTY_SMTP_*``), the webhook
channel (the shop's outbound webhooks subscribed to ``member_message``, signed and retried by
:mod:`loyalty_sdk.server.outbound`) and any a plugin contributes through ``loyalty_channels``.
"""

from __future__ import annotations

import hashlib
import smtplib
import socket
import ssl
from collections.abc import Callable, Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr
from typing import Any, Protocol, runtime_checkable

from attrs import field, frozen
from sqlalchemy import select
from sqlalchemy.engine import Engine

from loyalty_sdk.core.errors import PluginError
from loyalty_sdk.core.ledger import emit
from loyalty_sdk.core.plugin_host import PluginHost
from loyalty_sdk.core.storage import webhook_endpoints
from loyalty_sdk.settings import Settings

SMTP_TIMEOUT_SECONDS = 10.0
WEBHOOK_KIND = "member_message"


@frozen
class Message:
    """One rendered message to one member. ``key`` names what it is sent once for (an outbox
    event, or a batch of expiry reminders) and ``id`` (shop and key) is stable across retries, so
    receivers may deduplicate on it; ``to`` is the member's e-mail address (None when they have
    none, or were redacted); ``category`` is ``transactional`` or ``marketing``."""

    key: str
    shop_id: str
    kind: str
    category: str
    member_id: int
    to: str | None
    name: str | None
    customer_id: str | None
    locale: str
    subject: str
    text: str
    html: str
    sender: str | None = None
    """The shop's own ``message_from`` setting, when it has one."""
    data: dict[str, Any] = field(factory=dict)

    @property
    def id(self) -> str:
        return f"{self.shop_id}:{self.key}"

    def document(self) -> dict[str, Any]:
        return {"message_id": self.id, "member_id": self.member_id, "kind": self.kind, "category": self.category,
                "to": self.to, "name": self.name, "customer_id": self.customer_id, "locale": self.locale,
                "subject": self.subject, "text": self.text, "html": self.html, "data": self.data}


class Undeliverable(Exception):
    """A channel cannot ever deliver this message (no address, say): it is skipped, not retried."""


@runtime_checkable
class Channel(Protocol):
    name: str

    def enabled(self, shop_id: str) -> bool:
        """Whether the channel sends this shop's messages now."""

    def send(self, message: Message) -> None:
        """Deliver or raise: :class:`Undeliverable` to skip the message, anything else to retry it."""


class SmtpChannel:
    """E-mail through an SMTP server: text and HTML alternatives, STARTTLS unless turned off.

    One connection carries a whole batch (a hundred reminders are one handshake and one login,
    not a hundred, which mail providers also rate-limit); ``close`` ends it after the batch."""

    name = "email"

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host, "SmtpChannel needs LOYALTY_SMTP_HOST"
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.sender = settings.smtp_from or f"loyalty@{socket.getfqdn()}"
        self.username = settings.smtp_username
        self.password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        self.starttls = settings.smtp_starttls
        self._smtp: smtplib.SMTP | None = None

    def enabled(self, shop_id: str) -> bool:
        return True

    def send(self, message: Message) -> None:
        if not message.to:
            raise Undeliverable("the member has no e-mail address")
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = message.sender or self.sender
        mail["To"] = formataddr((message.name or "", message.to))
        # The same message always carries the same Message-ID, so a mail system can drop a repeat.
        mail["Message-ID"] = f"<{hashlib.sha256(message.id.encode()).hexdigest()[:32]}@loyalty-sdk>"
        mail["X-Loyalty-Message-Kind"] = message.kind
        mail.set_content(message.text)
        mail.add_alternative(message.html, subtype="html")
        reused = self._smtp is not None
        try:
            self._connection().send_message(mail)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            self.close()
            if not reused:
                raise
            # The server dropped a connection that sat idle since the last message, before this
            # one was taken: once more on a fresh connection.
            self._connection().send_message(mail)
        except Exception:
            self.close()  # whatever state the failure left it in, the next message starts afresh
            raise

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            smtp = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS)
            try:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
            except Exception:
                smtp.close()
                raise
            self._smtp = smtp
        return self._smtp

    def close(self) -> None:
        """End the batch's connection (a no-op without one)."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


class WebhookChannel:
    """The message as a ``member_message`` outbox event: the shop's outbound webhooks
    subscribed to that kind receive it signed, retried with backoff until delivered (for
    Klaviyo, HubSpot and the like, through a small adapter or an automation tool)."""

    name = "webhook"

    def __init__(self, db: Engine, now: Callable[[], datetime]) -> None:
        self.db = db
        self.now = now

    def enabled(self, shop_id: str) -> bool:
        e = webhook_endpoints.c
        with self.db.connect() as conn:
            kinds = conn.execute(select(e.kinds).where(e.shop_id == shop_id, e.disabled_at.is_(None))).scalars()
            return any(WEBHOOK_KIND in (listed or ()) for listed in kinds)

    def send(self, message: Message) -> None:
        if not (message.to or message.customer_id):
            raise Undeliverable("the member has neither an e-mail address nor a customer id")
        with self.db.execution_options(loyalty_write=True).begin() as conn:
            emit(conn, message.shop_id, WEBHOOK_KIND, message.member_id, f"message:{message.key}",
                 message.document(), self.now())


def channels(host: PluginHost, settings: Settings, db: Engine, now: Callable[[], datetime]) -> dict[str, Channel]:
    """The built-in channels that are configured, then those plugins contribute, by name."""
    found: dict[str, Channel] = {}
    if settings.smtp_host:
        found["email"] = SmtpChannel(settings)
    found["webhook"] = WebhookChannel(db, now)
    contributed: Sequence[Any] = [c for part in host.pm.hook.loyalty_channels() for c in part or ()]
    for channel in contributed:
        if not isinstance(channel, Channel):
            raise PluginError(f"loyalty_channels returned {channel!r}, which is not a Channel",
                              field="loyalty_channels", value=repr(channel))
        if channel.name in found:
            raise PluginError(f"two channels are named {channel.name!r}", field="channel", value=channel.name)
        found[channel.name] = channel
    return found


__all__ = ["Channel", "Message", "SmtpChannel", "Undeliverable", "WebhookChannel", "channels"]
