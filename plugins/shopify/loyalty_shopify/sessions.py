"""App Bridge session tokens: the embedded admin's requests carry ``Authorization: Bearer <JWT>``.

Checked with ShopifyAPI's own decoder: HS256 with the app secret, audience the app's client
id, issuer and destination the same ``*.myshopify.com`` shop, not expired (10 s leeway).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from shopify import session_token


class SessionRefused(Exception):
    """Not a current session token of this app for a Shopify shop."""


def shop_of(authorization: str | None, api_key: str, api_secret: str) -> str:
    """The shop domain a genuine, current session token speaks for."""
    return session_of(authorization, api_key, api_secret)[0]


def session_of(authorization: str | None, api_key: str, api_secret: str) -> tuple[str, str]:
    """The shop domain a genuine, current session token speaks for, and the staff member using
    the admin (the token's ``sub``: a Shopify user id; empty when the token names none)."""
    if not authorization:
        raise SessionRefused("no session token")
    try:
        claims = session_token.decode_from_header(authorization, api_key, api_secret)
    except session_token.SessionTokenError as error:
        raise SessionRefused(f"session token refused: {error}") from None
    except Exception as error:  # PyJWT's own errors (expired, wrong audience, bad signature)
        raise SessionRefused(f"session token refused: {type(error).__name__}: {error}") from None
    return (urlsplit(claims["dest"]).hostname or "").lower(), str(claims.get("sub") or "")


__all__ = ["SessionRefused", "session_of", "shop_of"]
