"""The Shopify platform for loyalty-sdk: the adapter ``loyalty serve`` mounts at
``POST /webhooks/shopify``. Adapter methods only; the topics live in ``webhooks``.

Configuration: ``LOYALTY_SHOPIFY_API_SECRET`` (the app's client secret, which signs every
webhook). A shop is a tenant once registered (``loyalty shops add shopify NAME.myshopify.com``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence

import orjson
from fastapi import APIRouter

from loyalty_sdk import hookimpl
from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.server.platforms import (
    Accepted,
    CoreEvent,
    Delivery,
    ShopDirectory,
    ShopRecord,
    SignatureRejected,
    WebhookRequest,
)
from loyalty_sdk.settings import get_settings
from loyalty_shopify import embedded, install, proxy, rewards, sessions, webhooks
from loyalty_shopify.rewards import loyalty_issue_reward  # noqa: F401 - a hook of this plugin
from loyalty_shopify.verify import webhook_is_genuine

log = logging.getLogger("loyalty_shopify")


def _settings_secret() -> str | None:
    secret = get_settings().shopify_api_secret
    return None if secret is None else secret.get_secret_value()


routes = APIRouter()
routes.include_router(install.router)
routes.include_router(proxy.router)
routes.include_router(embedded.router)


class ShopifyAdapter:
    name = webhooks.PLATFORM
    webhook_paths = ("/webhooks/shopify",)
    router = routes
    """``/shopify/install`` and ``/shopify/callback`` (the OAuth install), ``/proxy/...`` (the
    storefront through the app proxy), ``/shopify/admin/...`` (the embedded app)."""

    def __init__(self, api_secret: Callable[[], str | None] = _settings_secret) -> None:
        self._api_secret = api_secret

    def verify(self, request: WebhookRequest, shops: ShopDirectory) -> Accepted | None:
        """The HMAC of the raw body first: anything else is read only from a genuine delivery."""
        secret = self._api_secret()
        if secret is None or not webhook_is_genuine(secret, request.body, request.header("x-shopify-hmac-sha256")):
            raise SignatureRejected("X-Shopify-Hmac-Sha256 does not match the body")
        domain = (request.header("x-shopify-shop-domain") or "").strip().lower()
        topic = (request.header("x-shopify-topic") or "").strip()
        shop = shops(domain)
        if shop is None or shop.platform != webhooks.PLATFORM:
            # Genuine, but for a shop that is not ours (never installed, or forgotten after
            # shop/redact): acknowledge so Shopify stops retrying, keep nothing.
            log.info("Shopify %s for unknown shop %r acknowledged and dropped", topic, domain)
            return None
        if shop.settings.get("uninstalled_at") and topic not in webhooks.PRIVACY_TOPICS:
            # The app was removed: nothing more is processed, but the erasure requests that
            # follow an uninstall (shop/redact, 48 hours later) still are.
            log.info("Shopify %s for uninstalled shop %r acknowledged and dropped", topic, domain)
            return None
        # One merchant action can fire several topics under one event id: the topic is part of
        # the identity. A delivery without an event id falls back to its webhook id.
        event = request.header("x-shopify-event-id") or request.header("x-shopify-webhook-id")
        identity = event or hashlib.sha256(request.body).hexdigest()
        return Accepted(domain, topic, f"{topic}:{identity}"[:255])

    def admin_session(self, authorization: str | None) -> tuple[str, str] | None:
        """The shop and staff user of an App Bridge session token, for the admin pages
        embedded in the Shopify admin; None when the app is not configured here."""
        settings = get_settings()
        if settings.shopify_api_key is None or settings.shopify_api_secret is None:
            return None
        try:
            return sessions.session_of(authorization, settings.shopify_api_key.get_secret_value(),
                                       settings.shopify_api_secret.get_secret_value())
        except sessions.SessionRefused as refused:
            raise SignatureRejected(str(refused)) from None

    def void_codes(self, shop: ShopRecord, codes: list[str]) -> int:
        """Deactivate reward codes in Shopify (a redacted customer's unused ones)."""
        token = install.shop_token(shop)
        if token is None:
            return 0  # not installed any more: nothing can, or needs to, be switched off
        return rewards.deactivate(shop.id, token, codes)

    def parse(self, delivery: Delivery, shop: ShopRecord) -> Sequence[CoreEvent]:
        try:
            document = orjson.loads(delivery.body)
        except orjson.JSONDecodeError as error:
            raise InvalidInput(f"Shopify {delivery.topic} body is not JSON: {error}", field="body") from None
        return webhooks.events(delivery.topic, document, shop, delivery)


@hookimpl
def loyalty_platforms() -> list[ShopifyAdapter]:
    return [ShopifyAdapter()]


__all__ = ["ShopifyAdapter", "loyalty_issue_reward", "loyalty_platforms"]
