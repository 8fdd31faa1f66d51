"""Installing the app: Shopify's OAuth authorization-code grant, and keeping the shop's token.

``/shopify/install?shop=X.myshopify.com`` sends the merchant to Shopify to approve the scopes,
with a state nonce that is also set as a cookie. Shopify sends them back to
``/shopify/callback`` with a code; the callback checks, in this order, the shop domain's
form, the query HMAC (hex HMAC-SHA256 of the sorted ``k=v`` pairs, joined with ``&``), the
timestamp (at most a day old) and the nonce against the cookie, then exchanges the code for the
offline token. The token is kept encrypted (Fernet, with a key derived from
``LOYALTY_SECRET_KEY``); it never appears in logs or in the database in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from loyalty_sdk.server import sealing

SCOPES = ("read_orders", "read_customers", "write_discounts")
"""Orders and refunds to earn from, customers to enroll, discounts to issue rewards as."""
MAX_AGE_SECONDS = 24 * 3600
_SHOP = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")


class InstallRefused(Exception):
    """An install or callback request that is not genuine or not current: says why, changes nothing."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def shop_domain(value: str | None) -> str:
    """``value`` as a shop domain, lower case; InstallRefused unless it is ``*.myshopify.com``."""
    domain = (value or "").strip().lower()
    if not _SHOP.fullmatch(domain):
        raise InstallRefused(f"shop must be a NAME.myshopify.com domain, got {value!r}")
    return domain


def query_hmac(params: Mapping[str, Any], secret: str) -> str:
    """Shopify's OAuth query signature: ``hmac`` left out, ``%``, ``=`` and ``&`` escaped in
    the pairs, ``key[]`` lists as JSON, pairs sorted and joined with ``&``, hex HMAC-SHA256."""
    pairs = []
    for key, value in params.items():
        if key in ("hmac", "signature"):
            continue
        if key.endswith("[]"):
            key, value = key[:-2], json.dumps([str(item) for item in value])
        key = str(key).replace("%", "%25").replace("=", "%3D")
        pairs.append(f"{key}={str(value).replace('%', '%25')}".replace("&", "%26"))
    message = "&".join(sorted(pairs))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def check_callback(params: Mapping[str, str], secret: str, state_cookie: str | None,
                   now: float | None = None) -> str:
    """The shop of a genuine, current callback for the install this browser started."""
    shop = shop_domain(params.get("shop"))
    given = params.get("hmac", "")
    if not hmac.compare_digest(query_hmac(params, secret), given):
        raise InstallRefused("the callback's hmac does not match its parameters", 401)
    try:
        age = (now if now is not None else time.time()) - int(params.get("timestamp", ""))
    except ValueError:
        raise InstallRefused("the callback has no timestamp") from None
    if not -300 <= age <= MAX_AGE_SECONDS:
        raise InstallRefused("the callback's timestamp is more than a day old")
    state = params.get("state", "")
    if not state or not state_cookie or not hmac.compare_digest(state, state_cookie):
        raise InstallRefused("the callback's state does not match the install this browser started", 403)
    if not params.get("code"):
        raise InstallRefused("the callback has no code")
    return shop


def authorize_url(shop: str, api_key: str, redirect_uri: str, state: str, admin_url: str | None = None) -> str:
    base = admin_url or f"https://{shop}"
    query = urlencode({"client_id": api_key, "scope": ",".join(SCOPES), "redirect_uri": redirect_uri,
                       "state": state})
    return f"{base}/admin/oauth/authorize?{query}"


def new_state() -> str:
    return secrets.token_urlsafe(24)


TOKEN_PURPOSE = "loyalty-shopify-token"
"""Tokens get a key of their own, derived from the secret key (see ``sealing``)."""


def seal(token: str, secret_key: str) -> str:
    """The token encrypted at rest."""
    return sealing.seal(token, secret_key, TOKEN_PURPOSE)


def unseal(sealed: str, secret_key: str) -> str:
    try:
        return sealing.unseal(sealed, secret_key, TOKEN_PURPOSE)
    except sealing.SealBroken:
        raise InstallRefused("the stored token cannot be read with this LOYALTY_SECRET_KEY; reinstall the app",
                             500) from None


__all__ = ["SCOPES", "InstallRefused", "authorize_url", "check_callback", "new_state", "query_hmac", "seal",
           "shop_domain", "unseal"]
