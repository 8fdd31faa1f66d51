"""The parts of Stripe's event objects that loyalty needs, validated at the edge.

Amounts are integers in minor units (Stripe's exponents, see ``amounts``); ``metadata`` is
string to string; ``customer`` is an id, or an expanded object whose id is taken.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt


def _id_of(value: Any) -> Any:
    # Expanded objects ({"id": "cus_...", ...}) and plain ids both name the object.
    return value.get("id") if isinstance(value, dict) else value


StripeId = Annotated[str, BeforeValidator(_id_of), Field(min_length=1, max_length=255)]


class Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class BillingDetails(Payload):
    email: str | None = None


class PaymentIntent(Payload):
    id: StripeId
    amount: StrictInt
    amount_received: StrictInt | None = None
    """Absent in payloads of old API versions: then ``amount`` is what succeeded."""
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    customer: StripeId | None = None
    receipt_email: str | None = None
    created: StrictInt
    metadata: dict[str, str] = {}
    status: str | None = None


class Charge(Payload):
    id: StripeId
    amount: StrictInt
    amount_captured: StrictInt | None = None
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    customer: StripeId | None = None
    payment_intent: StripeId | None = None
    receipt_email: str | None = None
    billing_details: BillingDetails | None = None
    created: StrictInt
    metadata: dict[str, str] = {}
    paid: bool = True
    amount_refunded: StrictInt = 0
    """Everything refunded on the charge so far (cumulative, not this refund)."""


class Dispute(Payload):
    id: StripeId
    charge: StripeId
    payment_intent: StripeId | None = None
    status: str


class Customer(Payload):
    id: StripeId
    email: str | None = None
    name: str | None = None
    created: StrictInt | None = None
    metadata: dict[str, str] = {}


class EventData(Payload):
    object: dict[str, Any]


class Event(Payload):
    """The envelope: ``evt_...`` id, type, and the object it is about."""

    id: StripeId
    type: str
    created: StrictInt
    data: EventData


__all__ = ["Charge", "Customer", "Dispute", "Event", "PaymentIntent"]
