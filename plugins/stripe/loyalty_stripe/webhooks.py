"""Stripe events into core events: one ``handle_<type>`` per event type.

A payment earns once, whichever events report it: ``payment_intent.succeeded`` earns under the
payment intent's id, and ``charge.succeeded`` earns only for a charge made without a payment
intent (for one with, the intent's own event earns, and the ledger's key on the intent's id
would refuse a second posting anyway).

The buyer is found in order: ``metadata.loyalty_member_id`` (the customer id the store enrolled
them under), then the Stripe customer id, then the receipt or billing email; a guest payment
with only an email still earns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.models import Cancellation, LineItem, MemberRef, Order, Refund
from loyalty_sdk.server.platforms import CoreEvent, Customer, Delivery, ShopRecord
from loyalty_stripe import payloads
from loyalty_stripe.amounts import to_money

PLATFORM = "stripe"


def member_of(metadata: Mapping[str, str], customer: str | None, *emails: str | None) -> MemberRef | None:
    email = next((e for e in emails if e), None)
    customer_id = metadata.get("loyalty_member_id") or customer
    if not customer_id and not email:
        return None  # an anonymous payment: nobody to credit
    return MemberRef(customer_id=customer_id, email=email)


def payment(order_id: str, member: MemberRef, amount: int, currency: str, created: int) -> Order:
    """A payment as an order of one line: what was paid is what earns."""
    money = to_money(amount, currency)
    return Order(order_id, member, datetime.fromtimestamp(created, UTC), money.currency,
                 [LineItem(f"{order_id}:payment", 1, money, title="payment")], source=PLATFORM)


def handle_payment_intent_succeeded(document: Any, shop: ShopRecord, delivery: Delivery) -> list[CoreEvent]:
    intent = payloads.PaymentIntent.model_validate(document)
    member = member_of(intent.metadata, intent.customer, intent.receipt_email)
    received = intent.amount_received if intent.amount_received is not None else intent.amount
    if member is None or received <= 0:
        return []
    return [payment(intent.id, member, received, intent.currency, intent.created)]


def handle_charge_succeeded(document: Any, shop: ShopRecord, delivery: Delivery) -> list[CoreEvent]:
    charge = payloads.Charge.model_validate(document)
    if charge.payment_intent is not None:
        return []  # payment_intent.succeeded earns for it
    email = charge.billing_details.email if charge.billing_details else None
    member = member_of(charge.metadata, charge.customer, charge.receipt_email, email)
    amount = charge.amount_captured if charge.amount_captured is not None else charge.amount
    if member is None or amount <= 0:
        return []
    return [payment(charge.id, member, amount, charge.currency, charge.created)]


def handle_charge_refunded(document: Any, shop: ShopRecord, delivery: Delivery) -> list[CoreEvent]:
    """Stripe reports the charge's cumulative ``amount_refunded``: the ledger takes back only
    what this total adds to the refunds already processed (and a late, stale report nothing)."""
    charge = payloads.Charge.model_validate(document)
    if charge.amount_refunded <= 0:
        return []
    order_id = charge.payment_intent or charge.id
    return [Refund(f"{charge.id}@{charge.amount_refunded}", order_id, delivery.received_at,
                   amount=to_money(charge.amount_refunded, charge.currency), to_date=True)]


def handle_charge_dispute_closed(document: Any, shop: ShopRecord, delivery: Delivery) -> list[CoreEvent]:
    """A dispute the merchant lost takes back whatever the payment still has; won ones nothing."""
    dispute = payloads.Dispute.model_validate(document)
    if dispute.status != "lost":
        return []
    return [Cancellation(dispute.payment_intent or dispute.charge, delivery.received_at,
                         f"dispute {dispute.id} lost")]


def handle_customer_created(document: Any, shop: ShopRecord, delivery: Delivery) -> list[CoreEvent]:
    customer = payloads.Customer.model_validate(document)
    ref = MemberRef(customer_id=customer.metadata.get("loyalty_member_id") or customer.id, email=customer.email)
    at = datetime.fromtimestamp(customer.created, UTC) if customer.created else delivery.received_at
    return [Customer(ref, at, customer.name)]


HANDLERS: Mapping[str, Callable[[Any, ShopRecord, Delivery], list[CoreEvent]]] = {
    "payment_intent.succeeded": handle_payment_intent_succeeded,
    "charge.succeeded": handle_charge_succeeded,
    "charge.refunded": handle_charge_refunded,
    "charge.dispute.closed": handle_charge_dispute_closed,
    "customer.created": handle_customer_created,
    "customer.updated": handle_customer_created,
}


def events(event: payloads.Event, shop: ShopRecord, delivery: Delivery) -> list[CoreEvent]:
    handler = HANDLERS.get(event.type)
    if handler is None:
        return []  # Stripe sends many types; those that earn nothing are acknowledged, not errors
    try:
        return handler(event.data.object, shop, delivery)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "data.object"
        raise InvalidInput(f"Stripe {event.type} {where}: {first['msg']}", field=where,
                           value=first.get("input")) from None


__all__ = ["HANDLERS", "PLATFORM", "events", "member_of", "payment"]
