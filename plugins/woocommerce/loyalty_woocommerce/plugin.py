"""The WooCommerce platform for loyalty-sdk: the adapter ``loyalty serve`` mounts at
``POST /webhooks/woocommerce``, the ``loyalty woocommerce`` commands, and the scheduled sync.
Adapter methods only; the topics live in ``webhooks``, the pull in ``sync``.

A store is a tenant once registered under its URL (``loyalty shops add woocommerce
https://shop.example/``); its keys are set with ``loyalty woocommerce connect`` or the
``LOYALTY_WOOCOMMERCE_*`` settings (see ``connection``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

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
from loyalty_woocommerce import commands, payloads, sync, wc_api, webhooks
from loyalty_woocommerce.connection import PLATFORM, credentials, find_shop
from loyalty_woocommerce.rewards import loyalty_issue_reward  # noqa: F401 - a hook of this plugin
from loyalty_woocommerce.verify import is_ping, webhook_is_genuine

log = logging.getLogger("loyalty_woocommerce")


class WooCommerceAdapter:
    name = PLATFORM
    webhook_paths = ("/webhooks/woocommerce",)
    commands = commands.app
    """``loyalty woocommerce connect | sync | webhooks``."""

    def verify(self, request: WebhookRequest, shops: ShopDirectory) -> Accepted | None:
        """The ping first (unsigned, answered 200, nothing kept); then the store named by
        ``X-WC-Webhook-Source`` and its webhook secret; nothing else is read before the
        signature of the raw body matches."""
        signature = request.header("x-wc-webhook-signature")
        if is_ping(request.body, signature):
            return None
        source = request.header("x-wc-webhook-source")
        shop = find_shop(shops, source)
        secret = credentials(shop).webhook_secret if shop is not None else None
        if secret is None or not webhook_is_genuine(secret, request.body, signature):
            # An unknown store cannot be told from a forgery: both are refused, so a store
            # whose URL was never registered sees its webhook fail, not silently vanish.
            raise SignatureRejected(f"X-WC-Webhook-Signature does not match the body for source {source!r}")
        assert shop is not None
        topic = (request.header("x-wc-webhook-topic") or "").strip()
        if topic not in webhooks.HANDLERS:
            return None  # product.*, coupon.*, action.*: genuine, nothing to do with loyalty
        try:
            document = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            document = None
        key = webhooks.dedup_key(topic, document) or f"{topic}:{hashlib.sha256(request.body).hexdigest()}"
        return Accepted(shop.id, topic, key[:255])

    def parse(self, delivery: Delivery, shop: ShopRecord) -> Sequence[CoreEvent]:
        try:
            document = orjson.loads(delivery.body)
        except orjson.JSONDecodeError as error:
            raise InvalidInput(f"WooCommerce {delivery.topic} body is not JSON: {error}", field="body") from None
        return webhooks.events(delivery.topic, document, shop, delivery, lambda order_id: _refunds(shop, order_id))

    def run_jobs(self, runtime: Any, shop: ShopRecord, now: datetime) -> Any:
        """The scheduled pull of orders changed since the last one (every ``sync_minutes``)."""
        return sync.scheduled(runtime, shop, now)


def _refunds(shop: ShopRecord, order_id: str) -> list[payloads.Refund]:
    """An order's refunds with their lines. A store that cannot be asked raises, and the
    delivery is tried again later (its earn, applied already, replays)."""
    try:
        found = wc_api.order_refunds(wc_api.client(credentials(shop)), order_id)
    except wc_api.WooCommerceError as error:
        if error.status == 404:
            return []  # the order is gone from the store: nothing more to read
        raise
    return [payloads.Refund.model_validate(refund) for refund in found]


@hookimpl
def loyalty_platforms() -> list[WooCommerceAdapter]:
    return [WooCommerceAdapter()]


__all__ = ["WooCommerceAdapter", "loyalty_issue_reward", "loyalty_platforms"]
