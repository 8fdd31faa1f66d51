"""Shopify webhook topics into core events: one ``handle_<topic>`` per topic.

Each handler reads the REST resource Shopify sends for its topic (``payloads``) and returns the
core events it stands for. Amounts come in the shop's currency; every business effect is keyed
on Shopify's own ids (order, refund), so a redelivery hours later changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.models import Cancellation, LineItem, MemberRef, Order, Refund, RefundLine
from loyalty_sdk.core.money import Money
from loyalty_sdk.server.platforms import (
    CodesUsed,
    CoreEvent,
    Customer,
    DataRequest,
    Delivery,
    Redaction,
    ShopErased,
    ShopRecord,
    ShopUninstalled,
    address_line,
)
from loyalty_shopify import payloads

PLATFORM = "shopify"


def member_of(order: payloads.Order) -> MemberRef | None:
    """The buyer: the Shopify customer, or (a guest checkout) the order's email; None for an
    anonymous sale (a POS sale without a customer), which earns nothing."""
    email = order.email or order.contact_email
    if order.customer is not None:
        return MemberRef(customer_id=order.customer.id, email=order.customer.email or email)
    return MemberRef(email=email) if email else None


def earns(order: payloads.Order, shop: ShopRecord) -> bool:
    """Test orders earn only where the shop opted in; sales channels the shop excluded
    (``source_name``: ``pos``, an app's id...) never do."""
    settings = shop.settings
    if order.test and not settings.get("earn_test_orders", False):
        return False
    return order.source_name not in set(settings.get("exclude_sources", ()))


def to_order(order: payloads.Order, presentment: bool = False) -> Order | None:
    """The core order; in the shop's currency, or (``presentment``, a shop setting) in the
    currency the buyer paid in."""
    member = member_of(order)
    if member is None:
        return None
    currency = (order.presentment_currency or order.currency) if presentment else order.currency

    def amount(money: payloads.MoneySet) -> Decimal:
        return money.presentment() if presentment else money.shop()

    lines = []
    for line in order.line_items:
        # Shopify allocates every discount, order-level ones included, to the lines it covers.
        discount = sum((amount(a.amount_set) for a in line.discount_allocations), Decimal(0))
        tax = sum((amount(t.price_set) for t in line.tax_lines), Decimal(0))
        lines.append(LineItem(
            line_id=line.id, quantity=line.quantity, unit_price=Money(amount(line.price_set), currency),
            discount=Money(discount, currency) if discount else None,
            tax=Money(tax, currency) if tax else None,
            product_id=line.product_id, sku=line.sku or None, title=line.title, gift_card=line.gift_card,
        ))
    # Where the goods went (else who paid): referrals refuse a friend at the referrer's address.
    place = order.shipping_address or order.billing_address
    address = address_line(place.address1, place.address2, place.city, place.zip, place.country_code) if place else None
    return Order(order.id, member, order.processed_at or order.created_at, currency, lines,
                 taxes_included=order.taxes_included, source=PLATFORM, address=address,
                 # Shopify's order id names the order: a later report of it (an import from the
                 # orders export, a redelivery after an edit) is a replay, whatever its lines say.
                 fingerprint=f"shopify-order-{order.id}")


def handle_orders_paid(document: Any, shop: ShopRecord, delivery: Delivery) -> list[CoreEvent]:
    order = payloads.Order.model_validate(document)
    events: list[CoreEvent] = []
    if order.discount_codes:  # a reward code comes back: recorded as used, test order or not
        events.append(CodesUsed(order.id, tuple(code.code for code in order.discount_codes),
                                order.processed_at or order.created_at))
    if earns(order, shop):
        found = to_order(order, presentment=shop.settings.get("money") == "presentment")
        if found is not None:
            events.append(found)
    return events


def handle_orders_cancelled(document: Any, shop: ShopRecord, delivery: Delivery) -> list[CoreEvent]:
    order = payloads.Order.model_validate(document)
    if not earns(order, shop):
        return []
    return [Cancellation(order.id, order.cancelled_at or delivery.received_at, "cancelled in Shopify")]


def handle_refunds_create(document: Any, shop: ShopRecord, delivery: Delivery) -> list[CoreEvent]:
    refund = payloads.Refund.model_validate(document)
    # Per refunded line, by quantity: the core takes back that share of what the line earned,
    # from the line's own net value when the order earned (never the transaction total, which
    # holds tax and may hold shipping).
    lines = [RefundLine(item.line_item_id, item.quantity) for item in refund.refund_line_items if item.quantity > 0]
    if not lines:
        return []  # shipping or an adjustment only: nothing that earned came back
    return [Refund(refund.id, refund.order_id, refund.processed_at or refund.created_at, lines)]


def handle_customers_create(document: Any, shop: ShopRecord, delivery: Delivery) -> list[CoreEvent]:
    customer = payloads.CustomerPayload.model_validate(document)
    consent = customer.email_marketing_consent.state if customer.email_marketing_consent else None
    return [Customer(MemberRef(customer_id=customer.id, email=customer.email),
                     customer.created_at or delivery.received_at, customer.name, marketing_consent=consent)]


def _privacy_ref(request: payloads.CustomerPrivacyRequest) -> MemberRef:
    customer = request.customer
    if not customer.id and not customer.email:
        raise InvalidInput("a privacy request names no customer id and no email", field="customer", value=None)
    return MemberRef(customer_id=customer.id, email=customer.email)


def handle_customers_redact(document: Any, shop: ShopRecord, delivery: Delivery) -> list[CoreEvent]:
    request = payloads.CustomerPrivacyRequest.model_validate(document)
    return [Redaction(_privacy_ref(request), "Shopify customers/redact")]


def handle_customers_data_request(document: Any, shop: ShopRecord, delivery: Delivery) -> list[CoreEvent]:
    request = payloads.CustomerPrivacyRequest.model_validate(document)
    request_id = (request.data_request or {}).get("id")
    return [DataRequest(_privacy_ref(request), None if request_id is None else str(request_id))]


def handle_shop_redact(document: Any, shop: ShopRecord, delivery: Delivery) -> list[CoreEvent]:
    return [ShopErased()]


def handle_app_uninstalled(document: Any, shop: ShopRecord, delivery: Delivery) -> list[CoreEvent]:
    return [ShopUninstalled(delivery.received_at)]


PRIVACY_TOPICS = frozenset({"customers/redact", "customers/data_request", "shop/redact"})
"""Shopify's mandatory compliance topics: handled even after the app was uninstalled."""

HANDLERS: Mapping[str, Callable[[Any, ShopRecord, Delivery], list[CoreEvent]]] = {
    "orders/paid": handle_orders_paid,
    "orders/cancelled": handle_orders_cancelled,
    "refunds/create": handle_refunds_create,
    "customers/create": handle_customers_create,
    "customers/update": handle_customers_create,
    "customers/redact": handle_customers_redact,
    "customers/data_request": handle_customers_data_request,
    "shop/redact": handle_shop_redact,
    "app/uninstalled": handle_app_uninstalled,
}


def events(topic: str, document: Any, shop: ShopRecord, delivery: Delivery) -> list[CoreEvent]:
    handler = HANDLERS.get(topic)
    if handler is None:
        raise InvalidInput(f"the Shopify topic {topic!r} is not handled (handled: {', '.join(HANDLERS)})",
                           field="topic", value=topic)
    try:
        return handler(document, shop, delivery)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise InvalidInput(f"Shopify {topic} {where}: {first['msg']}", field=where, value=first.get("input")) from None


__all__ = ["HANDLERS", "PLATFORM", "PRIVACY_TOPICS", "earns", "events", "member_of", "to_order"]

