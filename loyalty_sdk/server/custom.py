"""The ``custom`` platform: a store of your own pushes signed JSON to ``/webhooks/custom/{shop}``.

The smallest real adapter, and the proof of the adapter interface. A request carries:

- ``X-Loyalty-Topic``: ``orders/paid``, ``refunds/create``, ``orders/cancelled``,
  ``activities/create`` or ``customers/create`` (the body is the matching schema in
  :mod:`loyalty_sdk.server.schemas`);
- ``X-Loyalty-Delivery``: the store's id for this delivery, the same on every retry (dedup);
- ``X-Loyalty-Signature: t=<unix seconds>,v1=<hex>``: HMAC-SHA256, keyed with the shop's
  webhook secret, of ``<t>.`` followed by the raw body. A signature more than five minutes
  from the server's clock is refused, so a captured request cannot be replayed later.

The shop's webhook secret is derived from ``LOYALTY_SECRET_KEY`` and the shop id
(``loyalty shops secret ID`` prints it): nothing secret is stored in the database, and
changing the secret key rotates every shop's webhook secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Sequence

import orjson
from pydantic import ValidationError

from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.hookspecs import hookimpl
from loyalty_sdk.server.platforms import (
    Accepted,
    CoreEvent,
    Customer,
    Delivery,
    ShopDirectory,
    ShopRecord,
    SignatureRejected,
    WebhookRequest,
)
from loyalty_sdk.server.schemas import ActivityIn, CancellationIn, CustomerIn, OrderIn, RefundIn
from loyalty_sdk.settings import get_settings

PLATFORM = "custom"
TOLERANCE_SECONDS = 300
_SIGNATURE = re.compile(r"^t=(\d{1,12}),v1=([0-9a-f]{64})$")
TOPICS = ("orders/paid", "refunds/create", "orders/cancelled", "activities/create", "customers/create")


def webhook_secret(secret_key: str, shop_id: str) -> str:
    """The shop's signing secret: derived, so it never needs storing."""
    return hmac.new(secret_key.encode(), f"custom-webhook:{shop_id}".encode(), hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Loyalty-Signature`` value a store sends (what its own code computes)."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class CustomAdapter:
    """HMAC-signed JSON from a store's own backend."""

    name = PLATFORM
    webhook_paths = ("/webhooks/custom/{shop}",)

    def __init__(self, secret_key: Callable[[], str | None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._secret_key = secret_key or _settings_secret_key
        self._clock = clock

    def verify(self, request: WebhookRequest, shops: ShopDirectory) -> Accepted:
        shop_id = request.path_params.get("shop", "")
        header = request.header("x-loyalty-signature") or ""
        match = _SIGNATURE.fullmatch(header.strip())
        if match is None:
            raise SignatureRejected("missing or malformed X-Loyalty-Signature")
        key = self._secret_key()
        shop = shops(shop_id)
        if key is None or shop is None or shop.platform != PLATFORM:
            # Same answer as a bad signature: an outsider learns nothing about which shops exist.
            raise SignatureRejected("signature does not match")
        timestamp, given = int(match.group(1)), match.group(2)
        expected = sign(webhook_secret(key, shop_id), request.body, timestamp).rsplit("=", 1)[1]
        if not hmac.compare_digest(expected, given):
            raise SignatureRejected("signature does not match")
        if abs(self._clock() - timestamp) > TOLERANCE_SECONDS:
            raise SignatureRejected("signature timestamp is outside the 5 minute tolerance")
        topic = request.header("x-loyalty-topic") or ""
        delivery = request.header("x-loyalty-delivery") or hashlib.sha256(request.body).hexdigest()
        return Accepted(shop_id, topic, delivery[:255])

    def parse(self, delivery: Delivery, shop: ShopRecord) -> Sequence[CoreEvent]:
        if b"\\u0000" in delivery.body or b"\x00" in delivery.body:
            # PostgreSQL text cannot hold NUL: refuse such a payload now, not after retries.
            raise InvalidInput("body contains a NUL character (\\u0000)", field="body", value=None)
        try:
            document = orjson.loads(delivery.body)
        except orjson.JSONDecodeError as error:
            raise InvalidInput(f"body is not JSON: {error}", field="body", value=None) from None
        try:
            return _events(delivery.topic, document, delivery)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "body"
            raise InvalidInput(f"{delivery.topic} {where}: {first['msg']}", field=where,
                               value=first.get("input")) from None


def _events(topic: str, document: object, delivery: Delivery) -> list[CoreEvent]:
    if topic == "orders/paid":
        order = OrderIn.model_validate(document)
        return [order.to_core(source=PLATFORM)]
    if topic == "refunds/create":
        return [RefundIn.model_validate(document).to_core()]
    if topic == "orders/cancelled":
        return [CancellationIn.model_validate(document).to_core()]
    if topic == "activities/create":
        return [ActivityIn.model_validate(document).to_core()]
    if topic == "customers/create":
        customer = CustomerIn.model_validate(document)
        return [Customer(customer.ref(), delivery.received_at, customer.name, customer.birthday)]
    raise InvalidInput(f"unknown topic {topic!r}; expected one of {', '.join(TOPICS)}", field="topic", value=topic)


def _settings_secret_key() -> str | None:
    key = get_settings().secret_key
    return None if key is None else key.get_secret_value()


@hookimpl
def loyalty_platforms() -> list[CustomAdapter]:
    return [CustomAdapter()]


__all__ = ["PLATFORM", "TOPICS", "CustomAdapter", "sign", "webhook_secret"]
