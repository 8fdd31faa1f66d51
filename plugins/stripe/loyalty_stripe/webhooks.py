"""Stripe events into core events: one ``handle_<type>`` per event type.

One payment, several reports. A checkout session paid by card fires ``checkout.session.completed``
and ``payment_intent.succeeded``; a subscription invoice ``invoice.paid`` and
``payment_intent.succeeded``; every card payment ``charge.succeeded`` too. They credit once:

- every report of a payment is an order keyed on its payment intent (refunds and disputes name
  that intent), with a fingerprint of the payment itself (intent, amount, currency), so any later
  report of it is a replay, whatever lines it describes;
- the report that knows most earns: the session (its items, their products and discounts) or the
  invoice (its lines, first invoice or renewal). ``payment_intent.succeeded`` asks Stripe whether
  a session or an invoice reports its payment and leaves the earning to them when one does, so
  the points do not depend on which event arrives first. Without an API key it cannot ask, and
  the first report to arrive earns;
- ``charge.succeeded`` earns only for a charge made without a payment intent.

The buyer is found in order: ``metadata.loyalty_member_id`` (the customer id the store enrolled
them under), then the Stripe customer id, then the receipt, billing or checkout email; a guest
payment with only an email still earns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from loyalty_sdk.core.engine import payload_hash
from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.models import Cancellation, LineItem, MemberRef, Order, Refund
from loyalty_sdk.server.platforms import (
    CoreEvent,
    Customer,
    Delivery,
    DisputeClosed,
    OrderDisputed,
    ShopRecord,
    address_line,
)
from loyalty_stripe import lookups, payloads
from loyalty_stripe.amounts import to_money
from loyalty_stripe.client import configured

PLATFORM = "stripe"


def member_of(metadata: Mapping[str, str], customer: str | None, *emails: str | None) -> MemberRef | None:
    email = next((e for e in emails if e), None)
    customer_id = metadata.get("loyalty_member_id") or customer
    if not customer_id and not email:
        return None  # an anonymous payment: nobody to credit
    return MemberRef(customer_id=customer_id, email=email)


def paid_for(payment_id: str, amount: int, currency: str) -> str:
    """The fingerprint every report of one payment shares (see the module's note)."""
    return payload_hash("stripe-payment", payment_id, amount, currency.upper())


def payment(order_id: str, member: MemberRef, amount: int, currency: str, created: int, *,
            payer: str | None = None, address: str | None = None) -> Order:
    """A payment as an order of one line: what was paid is what earns."""
    money = to_money(amount, currency)
    return Order(order_id, member, datetime.fromtimestamp(created, UTC), money.currency,
                 [LineItem(f"{order_id}:payment", 1, money, title="payment")], source=PLATFORM,
                 fingerprint=paid_for(order_id, amount, currency), payer_fingerprint=payer, address=address)


def handle_payment_intent_succeeded(document: Any, shop: ShopRecord, delivery: Delivery) -> list[CoreEvent]:
    intent = payloads.PaymentIntent.model_validate(document)
    member = member_of(intent.metadata, intent.customer, intent.receipt_email)
    received = intent.amount_received if intent.amount_received is not None else intent.amount
    if member is None or received <= 0 or intent.invoice is not None:
        return []  # nobody to credit, nothing paid, or an invoice's payment (invoice.paid earns)
    api = configured(shop)
    if api is not None and lookups.payment_reported_as(api, intent.id) is not None:
        return []  # its checkout session or invoice earns, with the lines it knows
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
    # The card's fingerprint and the billing address: referrals refuse a friend paying with the
    # referrer's card. (Payments through a payment intent earn from its own event, which
    # carries neither.)
    details = charge.payment_method_details
    card = details.card.fingerprint if details and details.card else None
    place = charge.billing_details.address if charge.billing_details else None
    address = address_line(place.line1, place.line2, place.city, place.postal_code, place.country) if place else None
    return [payment(charge.id, member, amount, charge.currency, charge.created, payer=card, address=address)]


def handle_charge_refunded(document: Any, shop: ShopRecord, delivery: Delivery) -> list[CoreEvent]:
    """Stripe reports the charge's cumulative ``amount_refunded``: the ledger takes back only
    what this total adds to the refunds already processed (and a late, stale report nothing)."""
    charge = payloads.Charge.model_validate(document)
    if charge.amount_refunded <= 0:
        return []
    order_id = charge.payment_intent or charge.id
    return [Refund(f"{charge.id}@{charge.amount_refunded}", order_id, delivery.received_at,
                   amount=to_money(charge.amount_refunded, charge.currency), to_date=True)]


def _disputed_order(dispute: payloads.Dispute) -> str:
    return dispute.payment_intent or dispute.charge


def handle_charge_dispute_created(document: Any, shop: ShopRecord, delivery: Delivery) -> list[CoreEvent]:
    """A chargeback opened: the program's ``hold_disputed`` keeps the payment's pending points
    pending until it closes."""
    dispute = payloads.Dispute.model_validate(document)
    return [OrderDisputed(_disputed_order(dispute), delivery.received_at,
                          f"dispute {dispute.id} opened ({dispute.reason or 'no reason given'})")]


def handle_charge_dispute_closed(document: Any, shop: ShopRecord, delivery: Delivery) -> list[CoreEvent]:
    """A dispute the merchant lost takes back whatever the payment still has; either way the
    hold ends."""
    dispute = payloads.Dispute.model_validate(document)
    order_id = _disputed_order(dispute)
    lost = dispute.status == "lost"
    taken: list[CoreEvent] = [Cancellation(order_id, delivery.received_at, f"dispute {dispute.id} lost")] if lost else []
    return [*taken, DisputeClosed(order_id, won=not lost)]


def handle_customer_created(document: Any, shop: ShopRecord, delivery: Delivery) -> list[CoreEvent]:
    customer = payloads.Customer.model_validate(document)
    ref = MemberRef(customer_id=customer.metadata.get("loyalty_member_id") or customer.id, email=customer.email)
    at = datetime.fromtimestamp(customer.created, UTC) if customer.created else delivery.received_at
    return [Customer(ref, at, customer.name)]


def _line(line_id: str, quantity: int | None, net: int, discount: int, currency: str, *, title: str | None,
          product: payloads.Product | str | None = None, sku: str | None = None,
          collections: frozenset[str] = frozenset()) -> LineItem:
    """A Stripe line as the engine's: ``net`` (after discounts, before tax) plus ``discount``
    is its price, per unit when the quantity divides it, else as one unit (the money is exact
    either way; only a per-unit rule would see the difference)."""
    before = net + discount
    units = quantity if quantity and quantity > 0 and before % quantity == 0 else 1
    product_id = product.id if isinstance(product, payloads.Product) else product
    if isinstance(product, payloads.Product):
        collections = collections | _collections(product.metadata)
    return LineItem(line_id, units, to_money(before // units, currency),
                    discount=to_money(discount, currency) if discount else None, product_id=product_id, sku=sku,
                    title=title, collections=collections)


def _collections(metadata: Mapping[str, str]) -> frozenset[str]:
    """A product's ``loyalty_collections`` metadata (``coffee, beans``): what campaigns and
    exclusions of the program see as its collections."""
    return frozenset(part.strip() for part in metadata.get("loyalty_collections", "").split(",") if part.strip())


def _earn_report(order_id: str, member: MemberRef, lines: list[LineItem], currency: str, created: int,
                 paid: int, *, order_discount: int = 0) -> Order:
    return Order(order_id, member, datetime.fromtimestamp(created, UTC), currency.upper(), lines,
                 order_discount=to_money(order_discount, currency) if order_discount > 0 else None,
                 source=PLATFORM, fingerprint=paid_for(order_id, paid, currency))


def handle_checkout_session_completed(document: Any, shop: ShopRecord, delivery: Delivery) -> list[CoreEvent]:
    """A paid session earns on its items: each item's total after discounts, before tax, never
    shipping. A session paid later (bank debits) earns on ``async_payment_succeeded``; one in
    subscription mode leaves the earning to its invoice."""
    session = payloads.CheckoutSession.model_validate(document)
    if session.mode != "payment" or session.payment_status != "paid" or not session.currency:
        return []
    details = session.customer_details
    member = member_of(session.metadata, session.customer, details.email if details else None,
                       session.customer_email)
    if member is None or not session.amount_total:
        return []
    order_id = session.payment_intent or session.id
    items = session.line_items.data if session.line_items and not session.line_items.has_more else None
    if items is None:
        api = configured(shop)
        items = lookups.checkout_line_items(api, session.id) if api is not None else None
    currency = session.currency
    if items:
        lines = [_line(item.id, item.quantity, item.amount_total - item.amount_tax, item.amount_discount, currency,
                       title=item.description, product=item.price.product if item.price else None,
                       sku=item.price.lookup_key if item.price else None)
                 for item in items]
    else:
        # No items to read: the session's own totals, as one line of merchandise.
        totals = session.total_details or payloads.TotalDetails()
        net = session.amount_total - totals.amount_tax - totals.amount_shipping
        lines = [_line(f"{session.id}:items", 1, net, totals.amount_discount, currency, title="checkout")]
    return [_earn_report(order_id, member, lines, currency, session.created, session.amount_total)]


SUBSCRIPTION_COLLECTIONS = {
    "subscription_create": "subscription-first",
    "subscription_cycle": "subscription-renewal",
    "subscription_threshold": "subscription-renewal",
    "subscription_update": "subscription-change",
}
"""An invoice's lines belong to collection ``subscription`` and to one of these by its billing
reason, so the program's campaigns and exclusions give first invoices and renewals their own
rules (``collections = ["subscription-first"]``, ``multiplier = "3"``)."""


def handle_invoice_paid(document: Any, shop: ShopRecord, delivery: Delivery) -> list[CoreEvent]:
    """Each paid invoice earns on its lines after discounts, before tax; what a customer balance
    (a loyalty credit, say) paid earns nothing."""
    invoice = payloads.Invoice.model_validate(document)
    if invoice.amount_paid <= 0:
        return []
    metadata = dict(invoice.parent.subscription_details.metadata or {}) if (
        invoice.parent and invoice.parent.subscription_details) else {}
    metadata.update(invoice.metadata or {})
    member = member_of(metadata, invoice.customer, invoice.customer_email)
    if member is None:
        return []
    api = configured(shop)
    paid_by = invoice.payment_intent or next(
        (p.payment.payment_intent for p in (invoice.payments.data if invoice.payments else [])
         if p.payment and p.payment.payment_intent and p.status in (None, "paid")), None)
    if paid_by is None and api is not None:
        paid_by = lookups.invoice_payment_intent(api, invoice.id)
    lines = invoice.lines.data if invoice.lines and not invoice.lines.has_more else None
    if lines is None and api is not None:
        lines = lookups.invoice_lines(api, invoice.id)
    collections = frozenset()
    if invoice.subscription_id or invoice.billing_reason in SUBSCRIPTION_COLLECTIONS:
        collections = frozenset({"subscription", SUBSCRIPTION_COLLECTIONS.get(invoice.billing_reason or "",
                                                                              "subscription")})
    currency = invoice.currency
    order_lines: list[LineItem] = []
    credited = 0  # proration credits ("unused time on the old plan") are negative lines
    for line in lines or ():
        net = _invoice_net(line)
        if net < 0:
            credited -= net
            continue
        order_lines.append(_line(line.id, line.quantity, net, sum(d.amount for d in line.discount_amounts or ()),
                                 currency, title=line.description, product=line.product_id, collections=collections))
    if not any(line.unit_price.minor * line.quantity > 0 for line in order_lines):
        order_lines, credited = [_line(f"{invoice.id}:paid", 1, invoice.amount_paid, 0, currency, title="invoice",
                                       collections=collections)], 0
        unpaid = 0
    else:
        # A customer balance or credit note paid part of the total: that part earns nothing.
        unpaid = max((invoice.total or 0) - invoice.amount_paid, 0)
    return [_earn_report(paid_by or invoice.id, member, order_lines, currency, invoice.created, invoice.amount_paid,
                         order_discount=unpaid + credited)]


def _invoice_net(line: payloads.InvoiceLine) -> int:
    """A line's merchandise: its amount less its discounts and the tax a tax-inclusive price
    contains (exclusive tax was never in the amount). Negative for a credit."""
    taxes = line.taxes if line.taxes is not None else line.tax_amounts or []
    inclusive = sum(tax.amount for tax in taxes if tax.is_inclusive)
    return line.amount - sum(d.amount for d in line.discount_amounts or ()) - inclusive


HANDLERS: Mapping[str, Callable[[Any, ShopRecord, Delivery], list[CoreEvent]]] = {
    "payment_intent.succeeded": handle_payment_intent_succeeded,
    "charge.succeeded": handle_charge_succeeded,
    "charge.refunded": handle_charge_refunded,
    "charge.dispute.created": handle_charge_dispute_created,
    "charge.dispute.closed": handle_charge_dispute_closed,
    "checkout.session.completed": handle_checkout_session_completed,
    "checkout.session.async_payment_succeeded": handle_checkout_session_completed,
    "invoice.paid": handle_invoice_paid,
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


__all__ = ["HANDLERS", "PLATFORM", "SUBSCRIPTION_COLLECTIONS", "events", "member_of", "paid_for", "payment"]
