"""WooCommerce webhook topics into core events: one ``handle_<topic>`` per topic.

An order topic carries the whole order as it is now, so each delivery (or each order the
sync pulls) is read as a snapshot, and the events it stands for are keyed so that the books
come out the same whichever snapshots arrive, in whatever order:

- an order that is, or was, paid earns once, on the order id (``processing`` or
  ``completed`` by default: the shop setting ``paid_statuses``); a later snapshot of it is a
  replay, ``completed`` after ``processing`` included;
- each refund in the order's ``refunds`` list takes back its share of the merchandise, keyed
  on the refund id (its lines are read from the REST API: the webhook names only its total);
- ``cancelled`` or ``failed`` after payment (``date_paid_gmt`` set), and ``refunded``, take back
  whatever is left. A reversing snapshot earns first (a replay when the order earned before),
  so a paid snapshot that arrives after it cannot earn again.

What earns is each line's ``total``: after discounts, coupons included, before tax. Shipping,
fees and tax never earn.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from pydantic import ValidationError

from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.models import Cancellation, LineItem, MemberRef, Order, Refund, RefundLine
from loyalty_sdk.core.money import Money, currency_exponent
from loyalty_sdk.server.platforms import CodesUsed, CoreEvent, Customer, Delivery, ShopRecord, address_line
from loyalty_woocommerce import payloads
from loyalty_woocommerce.connection import PLATFORM

PAID_STATUSES = ("processing", "completed")
"""WooCommerce's own ``wc_get_is_paid_statuses()``; a shop may name others (``paid_statuses``)."""
REVERSING_STATUSES = ("cancelled", "failed")

RefundsOf = Callable[[str], Sequence[payloads.Refund]]
"""The refunds of an order, with their lines, read from the store."""


def paid_statuses(shop: ShopRecord) -> frozenset[str]:
    return frozenset(shop.settings.get("paid_statuses") or PAID_STATUSES)


def member_of(order: payloads.Order) -> MemberRef | None:
    """The buyer: the WooCommerce customer, or (a guest, ``customer_id`` 0) the billing email;
    None for an order with neither, which earns nothing."""
    email = order.billing.email
    if order.customer_id:
        return MemberRef(customer_id=str(order.customer_id), email=email)
    return MemberRef(email=email) if email else None


def _minor(amount: Decimal, currency: str) -> int:
    return int(amount.scaleb(currency_exponent(currency)).to_integral_value(rounding=ROUND_FLOOR))


def to_line(line: payloads.LineItem, currency: str) -> LineItem:
    """A core line whose net value is exactly the WooCommerce line's ``total``.

    The unit price is the line's ``subtotal`` per unit, rounded up to the minor unit; the
    discount is whatever separates that from ``total`` (coupons, and the rounding)."""
    exponent = currency_exponent(currency)
    quantity = line.quantity
    total = max(_minor(line.total, currency), 0)
    gross = max(_minor(line.subtotal, currency), total)
    unit = -(-gross // quantity) if quantity else gross
    discount = unit * max(quantity, 1) - total
    product = line.variation_id if line.variation_id != "0" else line.product_id
    return LineItem(
        line_id=line.id, quantity=quantity, unit_price=Money(Decimal(unit).scaleb(-exponent), currency),
        discount=Money(Decimal(discount).scaleb(-exponent), currency) if discount else None,
        product_id=product if product != "0" else None, sku=line.sku or None, title=line.name,
    )


def to_order(order: payloads.Order) -> Order | None:
    member = member_of(order)
    if member is None or not order.line_items:
        return None
    # Later snapshots of the order (edited, completed, refunded) are replays of its first earn.
    # Where the goods went (else who paid): referrals refuse a friend at the referrer's address.
    place = order.shipping if order.shipping.address_1 else order.billing
    address = address_line(place.address_1, place.address_2, place.city, place.postcode, place.country)
    return Order(order.id, member, order.date_paid_gmt or order.date_created_gmt, order.currency,
                 [to_line(line, order.currency) for line in order.line_items], source=PLATFORM,
                 fingerprint=f"woocommerce-order-{order.id}", address=address)


def to_refund(refund: payloads.Refund, order: payloads.Order) -> Refund | None:
    """The merchandise a refund gave back: by line when it names lines; an amount alone is
    spread over the order's lines, less the share of it that was tax, shipping and fees. A
    refund of shipping or fees alone gives back nothing that earned: None."""
    currency = order.currency
    ids = {line.id for line in order.line_items}
    lines = []
    for line in refund.line_items:
        item, amount = line.refunded_item_id, abs(line.total)
        if item in ids and amount:
            lines.append(RefundLine(item, amount=Money(amount, currency)))
    if lines:
        return Refund(refund.id, order.id, refund.date_created_gmt, lines)
    if refund.line_items or refund.shipping_lines or refund.fee_lines or refund.amount <= 0:
        return None
    merchandise = sum((line.total for line in order.line_items), Decimal(0))
    if merchandise <= 0 or order.total <= 0:
        return None
    share = min(refund.amount * merchandise / order.total, merchandise)
    exponent = currency_exponent(currency)
    return Refund(refund.id, order.id, refund.date_created_gmt,
                  amount=Money(Decimal(_minor(share, currency)).scaleb(-exponent), currency))


def order_events(order: payloads.Order, shop: ShopRecord, refunds_of: RefundsOf) -> list[CoreEvent]:
    """What one snapshot of an order stands for (see the module's docstring)."""
    status = order.status
    reversed_after_payment = status in REVERSING_STATUSES and order.date_paid_gmt is not None
    if not (status in paid_statuses(shop) or status == "refunded" or reversed_after_payment):
        return []  # pending, on-hold, failed or cancelled before payment, trash: nothing earned
    at = order.date_paid_gmt or order.date_created_gmt
    events: list[CoreEvent] = []
    if order.coupon_lines:  # a reward coupon comes back: recorded as used
        events.append(CodesUsed(order.id, tuple(line.code for line in order.coupon_lines), at))
    earned = to_order(order)
    if earned is None:
        return events
    events.append(earned)
    if order.refunds:
        listed = {refund.id for refund in order.refunds}
        details = sorted((r for r in refunds_of(order.id) if r.id in listed), key=lambda r: int(r.id))
        events += [refund for refund in (to_refund(detail, order) for detail in details) if refund is not None]
    if reversed_after_payment or status == "refunded":
        events.append(Cancellation(order.id, order.date_modified_gmt, f"{status} in WooCommerce"))
    return events


def handle_order_updated(document: Any, shop: ShopRecord, delivery: Delivery, refunds_of: RefundsOf) -> list[CoreEvent]:
    return order_events(payloads.Order.model_validate(document), shop, refunds_of)


handle_order_created = handle_order_updated
handle_order_restored = handle_order_updated  # back from the trash: read like any snapshot


def handle_order_deleted(document: Any, shop: ShopRecord, delivery: Delivery, refunds_of: RefundsOf) -> list[CoreEvent]:
    """Trashed or deleted (the payload is only ``{"id": N}``): points stay until the order is
    cancelled or refunded, since a trashed order can be restored."""
    return []


def handle_customer_updated(document: Any, shop: ShopRecord, delivery: Delivery,
                            refunds_of: RefundsOf) -> list[CoreEvent]:
    customer = payloads.Customer.model_validate(document)
    at = customer.date_created_gmt or customer.date_modified_gmt or delivery.received_at
    return [Customer(MemberRef(customer_id=customer.id, email=customer.email), at, customer.name)]


handle_customer_created = handle_customer_updated

Handler = Callable[[Any, ShopRecord, Delivery, RefundsOf], list[CoreEvent]]
HANDLERS: Mapping[str, Handler] = {
    "order.created": handle_order_created,
    "order.updated": handle_order_updated,
    "order.deleted": handle_order_deleted,
    "order.restored": handle_order_restored,
    "customer.created": handle_customer_created,
    "customer.updated": handle_customer_updated,
}


def dedup_key(topic: str, document: Any) -> str | None:
    """A change's identity, the same for its webhook and for the sync's pull of it: the
    resource, its id and ``date_modified_gmt`` (WooCommerce's delivery id is a hash of the
    current second, not of the change). None when the body does not say."""
    if not isinstance(document, dict) or document.get("id") in (None, ""):
        return None
    resource = topic.split(".", 1)[0]
    if topic.endswith(".deleted"):
        return f"{resource}:{document['id']}:deleted"
    modified = document.get("date_modified_gmt")
    return f"{resource}:{document['id']}:{modified}" if modified else None


def events(topic: str, document: Any, shop: ShopRecord, delivery: Delivery, refunds_of: RefundsOf) -> list[CoreEvent]:
    handler = HANDLERS.get(topic)
    if handler is None:
        raise InvalidInput(f"the WooCommerce topic {topic!r} is not handled (handled: {', '.join(HANDLERS)})",
                           field="topic", value=topic)
    try:
        return handler(document, shop, delivery, refunds_of)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise InvalidInput(f"WooCommerce {topic} {where}: {first['msg']}", field=where,
                           value=first.get("input")) from None


__all__ = ["HANDLERS", "PAID_STATUSES", "dedup_key", "events", "member_of", "order_events", "to_line", "to_order",
           "to_refund"]
