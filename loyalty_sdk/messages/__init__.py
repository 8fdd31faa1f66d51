"""Member messages: points earned, tier up or down, reward issued, points expiring, birthday
bonus, made from outbox events, rendered from Jinja2 templates per shop and locale, and sent
through the SMTP channel, the signed webhook channel or a plugin's (``loyalty_channels``), at
most once per message and channel. Marketing messages only go to members who consented
(:mod:`loyalty_sdk.messages.kinds`)."""

from loyalty_sdk.messages.channels import Channel, Message, SmtpChannel, Undeliverable, WebhookChannel, channels
from loyalty_sdk.messages.delivery import queue, run, send
from loyalty_sdk.messages.kinds import KINDS, MARKETING, TRANSACTIONAL

__all__ = ["KINDS", "MARKETING", "TRANSACTIONAL", "Channel", "Message", "SmtpChannel",
           "Undeliverable", "WebhookChannel", "channels", "queue", "run", "send"]
