"""WooCommerce's webhook signature and ping, checked before anything else is read.

Every delivery carries ``X-WC-Webhook-Signature``: the base64 HMAC-SHA256 of the raw body,
keyed with the webhook's secret *after* WordPress's ``wp_specialchars_decode(secret,
ENT_QUOTES)``: a secret saved as ``a&amp;b`` signs with ``a&b``. Saving a webhook sends a
ping instead: the form body ``webhook_id=N``, with no ``X-WC-*`` headers and no signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

_PING = re.compile(rb"webhook_id=\d+")
# wp_specialchars_decode(ENT_QUOTES): zero-padded numeric forms are normalised first, then
# this table is applied in one pass (PHP's strtr), and no other entity is read.
_PADDED = ((re.compile(r"&#0*39;"), "&#039;"), (re.compile(r"&#x0*27;", re.I), "&#x27;"),
           (re.compile(r"&#0*34;"), "&#034;"), (re.compile(r"&#x0*22;", re.I), "&#x22;"),
           (re.compile(r"&#0*60;"), "&#060;"), (re.compile(r"&#0*62;"), "&#062;"),
           (re.compile(r"&#0*38;"), "&#038;"), (re.compile(r"&#x0*26;", re.I), "&#x26;"))
_TABLE = {"&#039;": "'", "&#x27;": "'", "&quot;": '"', "&#034;": '"', "&#x22;": '"', "&lt;": "<", "&#060;": "<",
          "&gt;": ">", "&#062;": ">", "&amp;": "&", "&#038;": "&", "&#x26;": "&"}
_ENTITY = re.compile("|".join(re.escape(key) for key in sorted(_TABLE, key=len, reverse=True)))


def signing_key(secret: str) -> str:
    """The secret as WooCommerce signs with it (HTML special characters decoded)."""
    if "&" not in secret:
        return secret
    for pattern, replacement in _PADDED:
        secret = pattern.sub(replacement, secret)
    return _ENTITY.sub(lambda match: _TABLE[match.group(0)], secret)


def webhook_signature(secret: str, body: bytes) -> str:
    """What WooCommerce sends in ``X-WC-Webhook-Signature`` for ``body``."""
    digest = hmac.new(signing_key(secret).encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def webhook_is_genuine(secret: str, body: bytes, header: str | None) -> bool:
    if not header:
        return False
    return hmac.compare_digest(webhook_signature(secret, body), header.strip())


def is_ping(body: bytes, signature: str | None) -> bool:
    """The unsigned ``webhook_id=N`` a webhook sends when it is saved."""
    return not signature and _PING.fullmatch(body.strip()) is not None


__all__ = ["is_ping", "signing_key", "webhook_is_genuine", "webhook_signature"]
