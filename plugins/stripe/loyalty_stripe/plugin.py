"""The Stripe platform for loyalty-sdk: the adapter ``loyalty serve`` mounts at
``POST /webhooks/stripe`` (the only Stripe shop, or the one named ``default``) and
``POST /webhooks/stripe/{shop}``. Adapter methods only; the event types live in ``webhooks``.

Configuration: ``LOYALTY_STRIPE_WEBHOOK_SECRET`` (the endpoint's signing secret, ``whsec_...``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import orjson
import stripe

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
from loyalty_stripe import payloads, webhooks
from loyalty_stripe.rewards import loyalty_issue_reward  # noqa: F401 - a hook of this plugin

log = logging.getLogger("loyalty_stripe")
TOLERANCE_SECONDS = 300
DEFAULT_SHOP = "default"


def _settings_secret() -> str | None:
    secret = get_settings().stripe_webhook_secret
    return None if secret is None else secret.get_secret_value()


class StripeAdapter:
    name = webhooks.PLATFORM
    webhook_paths = ("/webhooks/stripe", "/webhooks/stripe/{shop}")

    def __init__(self, webhook_secret: Callable[[], str | None] = _settings_secret) -> None:
        self._webhook_secret = webhook_secret

    def verify(self, request: WebhookRequest, shops: ShopDirectory) -> Accepted | None:
        """``stripe.Webhook.construct_event`` on the raw body (signature and a 300 s tolerance)."""
        secret = self._webhook_secret()
        if secret is None:
            raise SignatureRejected("LOYALTY_STRIPE_WEBHOOK_SECRET is not set")
        try:
            event = stripe.Webhook.construct_event(request.body, request.header("stripe-signature"), secret,
                                                   tolerance=TOLERANCE_SECONDS)
        except (stripe.SignatureVerificationError, ValueError) as error:
            raise SignatureRejected(f"Stripe-Signature refused: {error}") from None
        shop_id = request.path_params.get("shop") or DEFAULT_SHOP
        shop = shops(shop_id)
        if shop is None:
            log.info("Stripe %s for unknown shop %r acknowledged and dropped", event.id, shop_id)
            return None
        if event.type not in webhooks.HANDLERS:
            return None  # a type that earns nothing: acknowledged, nothing kept
        return Accepted(shop.id, event.type, event.id)

    def parse(self, delivery: Delivery, shop: ShopRecord) -> Sequence[CoreEvent]:
        try:
            event = payloads.Event.model_validate(orjson.loads(delivery.body))
        except (orjson.JSONDecodeError, ValueError) as error:
            raise InvalidInput(f"Stripe event body is not an event: {error}", field="body") from None
        return webhooks.events(event, shop, delivery)


@hookimpl
def loyalty_platforms() -> list[StripeAdapter]:
    return [StripeAdapter()]


__all__ = ["StripeAdapter", "loyalty_issue_reward", "loyalty_platforms"]
