"""WooCommerce's REST order JSON (``GET /wp-json/wc/v3/orders``, as ``loyalty woocommerce sync``
fetches it) read into a :class:`~loyalty_sdk.simulate.sources.History`.

The file holds a JSON array of orders (or ``{"orders": [...]}``). Each order is read as the
WooCommerce plugin reads a webhook snapshot, so an imported order and its later webhook are the
same order to the ledger: the id is the order id and the fingerprint ``woocommerce-order-<id>``.
What earns is each line's ``total`` (after coupons, before tax). The order JSON lists refunds
only as totals: each is spread over the merchandise as the plugin spreads a refund that names
no lines, dated at the order's last modification (the list carries no refund dates).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from loyalty_sdk.core.errors import LoyaltyError
from loyalty_sdk.core.models import Cancellation, LineItem, MemberRef, Order, Refund
from loyalty_sdk.core.money import Money, currency_exponent
from loyalty_sdk.simulate.sources import GuestOrder, History, Reporter, Skip, currency_of

PLATFORM = "woocommerce"
PAID = frozenset({"processing", "completed"})
"""WooCommerce's own paid statuses (``wc_get_is_paid_statuses()``)."""
REVERSING = frozenset({"cancelled", "failed"})


def fingerprint(order_id: str) -> str:
    """The fingerprint the WooCommerce plugin gives every snapshot of an order."""
    return f"woocommerce-order-{order_id}"


def read_woocommerce(path: str | Path, *, strict: bool = False) -> History:
    report = Reporter(path, strict)
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as error:
        report.fatal(f"{path} is not JSON: {error}")
    found = document.get("orders") if isinstance(document, dict) else document
    if not isinstance(found, list):
        report.fatal(f"{path}: expected a JSON array of WooCommerce orders (or {{\"orders\": [...]}})")
    for number, raw in enumerate(found, start=1):
        report.history.rows += 1
        try:
            _order(report.history, raw)
        except (Skip, LoyaltyError) as error:
            which = raw.get("id") if isinstance(raw, dict) else None
            report.bad(number, f"order {which}: {error}" if which is not None else str(error))
    return report.history


def _text(raw: dict[str, Any], name: str) -> str:
    value = raw.get(name)
    if isinstance(value, bool) or value in (None, ""):
        raise Skip(f"{name} is missing")
    return str(value)


def _amount(raw: dict[str, Any], name: str) -> Decimal:
    value = raw.get(name, "0")
    if isinstance(value, float):  # money as a JSON number would already have lost its exactness
        raise Skip(f"{name} must be a decimal string, got the number {value!r}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise Skip(f"{name} {value!r} is not an amount") from None
    if not amount.is_finite():
        raise Skip(f"{name} {value!r} is not an amount")
    return amount


def _gmt(raw: dict[str, Any], name: str) -> datetime | None:
    value = raw.get(name)
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise Skip(f"{name} {value!r} is not a date and time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _minor(amount: Decimal, currency: str) -> int:
    return int(amount.scaleb(currency_exponent(currency)).to_integral_value(rounding=ROUND_FLOOR))


def _line(raw: Any, currency: str) -> LineItem:
    """Net value exactly the line's ``total``: the unit price is ``subtotal`` per unit rounded up
    to the minor unit, the discount what separates that from ``total`` (as the plugin reads it)."""
    if not isinstance(raw, dict):
        raise Skip("a line item is not an object")
    quantity = raw.get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
        raise Skip(f"line {raw.get('id')}: quantity {quantity!r} is not a whole number")
    exponent = currency_exponent(currency)
    total = max(_minor(_amount(raw, "total"), currency), 0)
    gross = max(_minor(_amount(raw, "subtotal"), currency), total)
    unit = -(-gross // quantity) if quantity else gross
    discount = unit * max(quantity, 1) - total
    product = str(raw.get("variation_id") or "0")
    if product == "0":
        product = str(raw.get("product_id") or "0")
    return LineItem(_text(raw, "id"), quantity, Money(Decimal(unit).scaleb(-exponent), currency),
                    discount=Money(Decimal(discount).scaleb(-exponent), currency) if discount else None,
                    product_id=product if product != "0" else None, sku=raw.get("sku") or None,
                    title=raw.get("name") or None)


def _member(raw: dict[str, Any]) -> MemberRef | None:
    billing = raw.get("billing") if isinstance(raw.get("billing"), dict) else {}
    email = (billing.get("email") or "").strip() or None
    customer = raw.get("customer_id") or 0
    if customer not in (0, "0"):
        return MemberRef(customer_id=str(customer), email=email)
    return MemberRef(email=email) if email else None


def _order(history: History, raw: Any) -> None:
    if not isinstance(raw, dict):
        raise Skip("not a JSON object")
    order_id = _text(raw, "id")
    status = str(raw.get("status") or "")
    currency = currency_of(raw.get("currency"))
    paid_at = _gmt(raw, "date_paid_gmt")
    created = _gmt(raw, "date_created_gmt")
    if created is None:
        raise Skip("date_created_gmt is missing")
    reversed_after_payment = status in REVERSING and paid_at is not None
    if not (status in PAID or status == "refunded" or reversed_after_payment):
        history.unpaid += 1  # pending, on-hold, failed or cancelled before payment: never earned
        return
    at = paid_at or created
    lines = [_line(line, currency) for line in raw.get("line_items") or []]
    if not lines:
        raise Skip("has no line items")
    member = _member(raw)
    if member is None:
        net = sum((Money(line.gross, currency).minor - (line.discount.minor if line.discount else 0)
                   for line in lines), 0)
        history.guests.append(GuestOrder(at, currency, net))
        return
    order = Order(order_id, member, at, currency, lines, source=PLATFORM, fingerprint=fingerprint(order_id))
    modified = _gmt(raw, "date_modified_gmt") or at
    refunds = [_refund(order, summary, _amount(raw, "total"), modified) for summary in raw.get("refunds") or []]
    history.orders.append(order)
    history.refunds.extend(refund for refund in refunds if refund is not None)
    if reversed_after_payment or status == "refunded":
        history.cancellations.append(Cancellation(order_id, modified, f"{status} in WooCommerce"))


def _refund(order: Order, summary: Any, order_total: Decimal, at: datetime) -> Refund | None:
    """A refund total spread over the order's merchandise, less its share of tax and shipping."""
    if not isinstance(summary, dict):
        raise Skip("a refund is not an object")
    amount = abs(_amount(summary, "total"))
    merchandise = Decimal(sum(order.line_nets.values())).scaleb(-currency_exponent(order.currency))
    if amount <= 0 or merchandise <= 0 or order_total <= 0:
        return None
    share = min(amount * merchandise / order_total, merchandise)
    exponent = currency_exponent(order.currency)
    return Refund(_text(summary, "id"), order.order_id, at,
                  amount=Money(Decimal(_minor(share, order.currency)).scaleb(-exponent), order.currency))


__all__ = ["fingerprint", "read_woocommerce"]
