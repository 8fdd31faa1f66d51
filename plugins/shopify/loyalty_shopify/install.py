"""The install routes: ``GET /shopify/install`` and ``GET /shopify/callback``.

Configuration: ``LOYALTY_SHOPIFY_API_KEY`` (the app's client id), ``LOYALTY_SHOPIFY_API_SECRET``,
``LOYALTY_SECRET_KEY`` (tokens are encrypted with a key derived from it) and, behind a proxy,
``LOYALTY_SHOPIFY_APP_URL`` (the public https address of this server).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import insert, select, update

from loyalty_sdk.core.ledger import utc
from loyalty_sdk.core.storage import shops
from loyalty_sdk.server.problems import problem
from loyalty_sdk.settings import get_settings
from loyalty_shopify import oauth, shopify_api

log = logging.getLogger("loyalty_shopify")
STATE_COOKIE = "loyalty_shopify_state"
router = APIRouter(tags=["shopify"])


def _app_url(request: Request) -> str:
    return (os.environ.get("LOYALTY_SHOPIFY_APP_URL") or str(request.base_url)).rstrip("/")


def _credentials() -> tuple[str, str, str] | None:
    settings = get_settings()
    parts = (settings.shopify_api_key, settings.shopify_api_secret, settings.secret_key)
    if any(part is None for part in parts):
        return None
    return tuple(part.get_secret_value() for part in parts)  # type: ignore[union-attr,return-value]


@router.get("/shopify/install", include_in_schema=False)
def install(request: Request, shop: str = "") -> Response:
    """Send the merchant to Shopify to approve the app's scopes."""
    credentials = _credentials()
    if credentials is None:
        return problem(503, "not_configured", "LOYALTY_SHOPIFY_API_KEY, LOYALTY_SHOPIFY_API_SECRET and "
                       "LOYALTY_SECRET_KEY must be set to install the Shopify app")
    try:
        domain = oauth.shop_domain(shop)
    except oauth.InstallRefused as refused:
        return problem(refused.status, "invalid_shop", str(refused))
    state = oauth.new_state()
    target = oauth.authorize_url(domain, credentials[0], f"{_app_url(request)}/shopify/callback", state,
                                 os.environ.get("LOYALTY_SHOPIFY_ADMIN_URL"))
    answer = RedirectResponse(target, status_code=302)
    answer.set_cookie(STATE_COOKIE, state, max_age=600, httponly=True, samesite="lax",
                      secure=request.url.scheme == "https")
    return answer


@router.get("/shopify/callback", include_in_schema=False)
def callback(request: Request) -> Response:
    """Shopify's answer: checked, the code exchanged, the shop registered and subscribed."""
    credentials = _credentials()
    if credentials is None:
        return problem(503, "not_configured", "the Shopify app is not configured on this server")
    api_key, api_secret, secret_key = credentials
    params = dict(request.query_params)
    try:
        shop = oauth.check_callback(params, api_secret, request.cookies.get(STATE_COOKIE))
        token, scope = shopify_api.exchange_code(shop, api_key, api_secret, params["code"])
        info = shopify_api.shop_info(shop, token)
        shopify_api.subscribe_webhooks(shop, token, f"{_app_url(request)}/webhooks/shopify")
    except oauth.InstallRefused as refused:
        log.info("Shopify install refused: %s", refused)
        return problem(refused.status, "install_refused", str(refused))
    except shopify_api.ShopifyError as error:
        log.warning("Shopify install of %s failed: %s", params.get("shop"), error)
        return problem(502, "shopify_unavailable", f"{error}; try installing again")
    _register(request.app.state.runtime, shop, oauth.seal(token, secret_key), scope, info)
    answer = Response(status_code=200, media_type="text/html",
                      content=f"<!doctype html><title>Installed</title><p>Loyalty is installed on {shop}.</p>")
    answer.delete_cookie(STATE_COOKIE)
    return answer


def _register(runtime: Any, shop: str, sealed_token: str, scope: str, info: dict[str, str]) -> None:
    """Create the shop as a tenant, or bring it back (a reinstall), holding the sealed token."""
    now = datetime.now(UTC)
    with runtime.db.execution_options(loyalty_write=True).begin() as conn:
        row = conn.execute(select(shops.c.settings).where(shops.c.id == shop)).first()
        credentials = {"access_token": sealed_token, "scope": scope, "installed_at": now.isoformat()}
        if row is None:
            conn.execute(insert(shops), {"id": shop, "platform": "shopify", "currency": info["currencyCode"],
                                         "timezone": info["ianaTimezone"], "created_at": utc(now),
                                         "settings": credentials})
        else:
            kept = {k: v for k, v in (row.settings or {}).items() if k != "uninstalled_at"}
            conn.execute(update(shops).where(shops.c.id == shop).values(settings={**kept, **credentials}))
    runtime.forget(shop)
    log.info("Shopify shop %s installed (scopes %s)", shop, scope)


def shop_token(shop: Any) -> str | None:
    """A shop's token in clear (a shops row or a ShopRecord), for an Admin API call; None when
    the app is not installed there or LOYALTY_SECRET_KEY is unset."""
    sealed = (getattr(shop, "settings", None) or {}).get("access_token")
    secret_key = get_settings().secret_key
    if not sealed or secret_key is None:
        return None
    return oauth.unseal(sealed, secret_key.get_secret_value())


__all__ = ["STATE_COOKIE", "router", "shop_token"]
