"""The Stripe platform for loyalty-sdk: the adapter ``loyalty serve`` mounts at
``POST /webhooks/stripe`` (the shop named ``default``) and ``POST /webhooks/stripe/{shop}``.
Adapter methods only; the event types live in ``webhooks``, the commands in ``commands``.

Each shop's endpoint signs with its own secret (``loyalty stripe connect SHOP``), or the
server's ``LOYALTY_STRIPE_WEBHOOK_SECRET`` (``whsec_...``); see ``credentials``.
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
from loyalty_sdk.server.sealing import SealBroken
from loyalty_stripe import credentials, payloads, webhooks
from loyalty_stripe.commands import stripe_commands
from loyalty_stripe.rewards import loyalty_issue_reward  # noqa: F401 - a hook of this plugin

log = logging.getLogger("loyalty_stripe")
TOLERANCE_SECONDS = 300
DEFAULT_SHOP = "default"


class StripeAdapter:
    name = webhooks.PLATFORM
    webhook_paths = ("/webhooks/stripe", "/webhooks/stripe/{shop}")

    commands = stripe_commands

    def __init__(self, webhook_secret: Callable[[ShopRecord | None], str | None] = credentials.webhook_secret) -> None:
        self._webhook_secret = webhook_secret

    def verify(self, request: WebhookRequest, shops: ShopDirectory) -> Accepted | None:
        """``stripe.Webhook.construct_event`` on the raw body (signature and a 300 s tolerance),
        with the secret of the shop the path names."""
        shop_id = request.path_params.get("shop") or DEFAULT_SHOP
        shop = shops(shop_id)
        try:
            secret = self._webhook_secret(shop)
        except SealBroken as error:
            raise SignatureRejected(str(error)) from None
        if secret is None:
            raise SignatureRejected(f"no signing secret for shop {shop_id!r}: set LOYALTY_STRIPE_WEBHOOK_SECRET"
                                    " or run loyalty stripe connect")
        try:
            event = stripe.Webhook.construct_event(request.body, request.header("stripe-signature"), secret,
                                                   tolerance=TOLERANCE_SECONDS)
        except (stripe.SignatureVerificationError, ValueError) as error:
            raise SignatureRejected(f"Stripe-Signature refused: {error}") from None
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
