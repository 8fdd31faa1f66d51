"""Credentials kept at rest: a platform's token or API keys, encrypted in a shop's settings.

Fernet, with a key derived from ``LOYALTY_SECRET_KEY`` and a purpose of its own per kind of
credential, so nothing else signed or sealed with the secret key can open them. Needs the
``cryptography`` package, which the platform plugins that keep credentials depend on.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any


class SealBroken(Exception):
    """The sealed value cannot be opened with this secret key (it was changed, or the value
    is not one of ours)."""


def _fernet(secret_key: str, purpose: str) -> Any:
    from cryptography.fernet import Fernet

    derived = hashlib.sha256(f"{purpose}:".encode() + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(text: str, secret_key: str, purpose: str) -> str:
    """``text`` encrypted for storage; ``purpose`` names what it is (``loyalty-shopify-token``)."""
    return _fernet(secret_key, purpose).encrypt(text.encode()).decode()


def unseal(sealed: str, secret_key: str, purpose: str) -> str:
    from cryptography.fernet import InvalidToken

    try:
        return _fernet(secret_key, purpose).decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise SealBroken(f"a stored {purpose} cannot be read with this LOYALTY_SECRET_KEY") from None


__all__ = ["SealBroken", "seal", "unseal"]
