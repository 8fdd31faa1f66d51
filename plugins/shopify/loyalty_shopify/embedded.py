"""What the app shows inside the Shopify admin: requests from the embedded app carry an App
Bridge session token, which alone says which shop is asking (never a parameter).

``GET /shopify/admin/summary``: the shop's members, points issued, redeemed, expired, clawed back
and outstanding, and the liability. The full admin pages come with the analytics and admin work.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from loyalty_sdk.server.problems import problem
from loyalty_sdk.settings import get_settings
from loyalty_shopify import sessions

router = APIRouter(tags=["shopify"])


@router.get("/shopify/admin/summary", include_in_schema=False)
def summary(request: Request) -> Any:
    settings = get_settings()
    if settings.shopify_api_key is None or settings.shopify_api_secret is None:
        return problem(503, "not_configured", "the Shopify app is not configured on this server")
    try:
        shop = sessions.shop_of(request.headers.get("authorization"), settings.shopify_api_key.get_secret_value(),
                                settings.shopify_api_secret.get_secret_value())
    except sessions.SessionRefused as refused:
        return problem(401, "unauthorized", str(refused), headers={"WWW-Authenticate": "Bearer"})
    runtime = request.app.state.runtime
    record = runtime.shop(shop)
    if record is None or record.platform != "shopify":
        return problem(404, "shop_not_found", f"{shop} has not installed the app")
    return {"shop": shop, **runtime.loyalty(shop).summary()}


__all__ = ["router"]
