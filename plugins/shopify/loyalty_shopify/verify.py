"""Shopify's signatures, checked in constant time before anything else is read.

Webhooks carry ``X-Shopify-Hmac-Sha256``: the base64 HMAC-SHA256 of the raw request body,
keyed with the app's client secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def webhook_signature(secret: str, body: bytes) -> str:
    """What Shopify sends in ``X-Shopify-Hmac-Sha256`` for ``body``."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def webhook_is_genuine(secret: str, body: bytes, header: str | None) -> bool:
    if not header:
        return False
    return hmac.compare_digest(webhook_signature(secret, body), header.strip())


__all__ = ["webhook_is_genuine", "webhook_signature"]
