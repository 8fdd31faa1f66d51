"""Order history files read into core events, for :func:`loyalty_sdk.simulate.simulate` and
``loyalty import orders``.

Four formats: the documented generic CSV (docs/simulate.md), Shopify's orders CSV export (one
row per line item; order-level fields only on an order's first row), WooCommerce's REST order
JSON (:mod:`loyalty_sdk.simulate.woocommerce`) and Stripe's payments export CSV
(:mod:`loyalty_sdk.simulate.stripe`). A row that cannot be read becomes a :class:`BadRow`
naming file, line and reason; with ``strict`` the first one raises.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from attrs import define, field, frozen

from loyalty_sdk.core import collector
from loyalty_sdk.core.errors import InvalidInput, LoyaltyError
from loyalty_sdk.core.models import Cancellation, LineItem, MemberRef, Order, Refund
from loyalty_sdk.core.money import Money

FORMATS = ("generic", "shopify", "woocommerce", "stripe")
GENERIC_COLUMNS = ("kind", "order_id", "at", "customer_id", "email", "currency", "price", "quantity", "discount",
                   "sku", "collections", "refund_id", "amount")
SHOPIFY_REQUIRED = ("Name", "Email", "Created at", "Currency", "Lineitem quantity", "Lineitem price")
# Shopify orders in these states were never paid, so they earn nothing.
SHOPIFY_UNPAID = frozenset({"pending", "authorized", "voided", "expired"})


@frozen
class BadRow:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@frozen
class GuestOrder:
    """An order with no customer to credit: revenue, but no member."""

    placed_at: datetime
    currency: str
    net_minor: int


@define
class History:
    """What a file held, in core events, plus what could not be used and why."""

    source: str
    orders: list[Order] = field(factory=list)
    refunds: list[Refund] = field(factory=list)
    cancellations: list[Cancellation] = field(factory=list)
    guests: list[GuestOrder] = field(factory=list)
    bad_rows: list[BadRow] = field(factory=list)
    unpaid: int = 0
    rows: int = 0


class _Skip(Exception):
    """A row that cannot be used; the message is the reason."""


def read_history(path: str | Path, format: str = "generic", *, strict: bool = False) -> History:
    """Read ``path`` (``format``: one of :data:`FORMATS`) into a :class:`History`."""
    if format not in FORMATS:
        raise InvalidInput(f"unknown order file format {format!r}; choose one of {', '.join(FORMATS)}",
                           field="format", value=format)
    # Millions of small objects that form no cycles: with the collector running, every full
    # pass would walk all that was read so far (see ``collector``).
    with collector.paused():
        return _read(path, format, strict)


def _read(path: str | Path, format: str, strict: bool) -> History:
    if format == "woocommerce":
        from loyalty_sdk.simulate.woocommerce import read_woocommerce

        return read_woocommerce(path, strict=strict)
    if format == "stripe":
        from loyalty_sdk.simulate.stripe import StripePaymentsReader

        return StripePaymentsReader(path, strict).read()
    reader = _GenericReader(path, strict) if format == "generic" else _ShopifyReader(path, strict)
    return reader.read()


class _Reader:
    required: tuple[str, ...] = ()

    def __init__(self, path: str | Path, strict: bool) -> None:
        self.path = Path(path)
        self.strict = strict
        self.history = History(source=str(path))

    def bad(self, line: int, reason: str) -> None:
        row = BadRow(str(self.path), line, reason)
        if self.strict:
            raise InvalidInput(f"bad row: {row}", field="orders", value=str(row))
        self.history.bad_rows.append(row)

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """Each record with the line it starts on (a quoted field may span lines)."""
        with self.path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [name for name in self.required if name not in (reader.fieldnames or ())]
            if missing:
                raise InvalidInput(f"{self.path}: missing column(s) {', '.join(missing)}", field="orders",
                                   value=missing)
            start = reader.line_num + 1
            for record in reader:
                self.history.rows += 1
                yield start, record
                start = reader.line_num + 1

    def fatal(self, reason: str) -> None:
        """The file as a whole cannot be read."""
        raise InvalidInput(reason, field="orders", value=str(self.path))

    def read(self) -> History:
        raise NotImplementedError


# An order's lines share its time and currency: parsed and checked once, not once per line.
@lru_cache(maxsize=1024)
def _at(text: str, name: str) -> datetime:
    text = text.strip()
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        try:  # Shopify's "2024-01-05 10:22:33 -0500"
            at = datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z")
        except ValueError:
            raise _Skip(f"{name} {text!r} is not a date and time") from None
    if at.tzinfo is None:
        raise _Skip(f"{name} {text!r} has no UTC offset (write e.g. 2025-03-01T10:00:00Z)")
    return at


def _money(text: str | None, currency: str, name: str, *, default: str | None = None) -> Money:
    text = (text or "").strip() or default
    if text is None:
        raise _Skip(f"{name} is empty")
    try:
        return Money(Decimal(text), currency)
    except (ArithmeticError, LoyaltyError):
        raise _Skip(f"{name} {text!r} is not an amount in {currency}") from None


def _quantity(text: str | None) -> int:
    text = (text or "").strip() or "1"
    if not text.isdigit():
        raise _Skip(f"quantity {text!r} is not a whole number")
    return int(text)


@lru_cache(maxsize=256)
def _currency(text: str | None) -> str:
    code = (text or "").strip().upper()
    try:
        Money.zero(code)
    except LoyaltyError:
        raise _Skip(f"currency {text!r} is not an ISO 4217 code") from None
    return code


class _OrderBuilder:
    """One order's fields and lines as its rows arrive."""

    def __init__(self, order_id: str, member: MemberRef | None, at: datetime, currency: str, first_line: int) -> None:
        self.order_id = order_id
        self.member = member
        self.at = at
        self.currency = currency
        self.first_line = first_line
        self.lines: list[LineItem] = []
        self.discount: Money | None = None
        self.fingerprint: str | None = None

    def build(self) -> Order | GuestOrder:
        if self.member is None:
            net = sum(line.gross - (line.discount.amount if line.discount else 0) for line in self.lines)
            net -= self.discount.amount if self.discount else 0
            return GuestOrder(self.at, self.currency, Money(net, self.currency).minor)
        return Order(self.order_id, self.member, self.at, self.currency, self.lines, order_discount=self.discount,
                     source="simulate", fingerprint=self.fingerprint)


def shopify_fingerprint(order_id: str) -> str:
    """What a Shopify order's every report would share: its id (the Shopify plugin sets none yet)."""
    return f"shopify-order-{order_id}"


def _member(customer_id: str | None, email: str | None) -> MemberRef | None:
    customer_id, email = (customer_id or "").strip(), (email or "").strip()
    return MemberRef(customer_id or None, email or None) if customer_id or email else None


@lru_cache(maxsize=1024)  # a catalog has few distinct collection lists
def _collections(text: str) -> frozenset[str]:
    return frozenset(c.strip() for c in text.split(";") if c.strip())


def _finish(reader: _Reader, builders: dict[str, _OrderBuilder]) -> None:
    for builder in builders.values():
        try:
            built = builder.build()
        except LoyaltyError as error:
            reader.bad(builder.first_line, f"order {builder.order_id}: {error}")
            continue
        (reader.history.guests if isinstance(built, GuestOrder) else reader.history.orders).append(built)


class _GenericReader(_Reader):
    required = ("kind", "order_id", "at", "currency")

    def __init__(self, path: str | Path, strict: bool) -> None:
        super().__init__(path, strict)
        self.members: dict[tuple[str | None, str | None], MemberRef | None] = {}

    def read(self) -> History:
        builders: dict[str, _OrderBuilder] = {}
        refunds: list[tuple[int, dict[str, str]]] = []
        broken: set[str] = set()
        for line, row in self.rows():
            kind = (row.get("kind") or "").strip().lower()
            try:
                if kind == "order":
                    self._line(builders, line, row)
                elif kind == "refund":
                    refunds.append((line, row))
                else:
                    raise _Skip(f"kind {row.get('kind')!r} is neither order nor refund")
            except (_Skip, LoyaltyError) as error:
                self.bad(line, str(error))
                if kind == "order":  # an order missing a line would earn the wrong points: drop it whole
                    broken.add((row.get("order_id") or "").strip())
        for order_id in broken:
            builders.pop(order_id, None)
        _finish(self, builders)
        for number, (line, row) in enumerate(refunds, start=1):
            try:
                self.history.refunds.append(self._refund(builders, number, row))
            except (_Skip, LoyaltyError) as error:
                self.bad(line, str(error))
        return self.history

    def _member(self, customer_id: str | None, email: str | None) -> MemberRef | None:
        # Customers order again and again: one reference each, made once per file.
        key = (customer_id, email)
        member = self.members.get(key, self)
        if member is self:
            member = self.members[key] = _member(customer_id, email)
        return member

    def _line(self, builders: dict[str, _OrderBuilder], line: int, row: dict[str, str]) -> None:
        order_id = (row.get("order_id") or "").strip()
        if not order_id:
            raise _Skip("order_id is empty")
        currency, at = _currency(row.get("currency")), _at(row.get("at") or "", "at")
        member = self._member(row.get("customer_id"), row.get("email"))
        builder = builders.get(order_id)
        if builder is None:
            builder = builders[order_id] = _OrderBuilder(order_id, member, at, currency, line)
        elif (builder.member, builder.at, builder.currency) != (member, at, currency):
            raise _Skip(f"order {order_id}: customer, time or currency differs from its line {builder.first_line}")
        price = _money(row.get("price"), currency, "price")
        discount = (row.get("discount") or "").strip()
        collections = _collections(row.get("collections") or "")
        builder.lines.append(LineItem(
            str(len(builder.lines) + 1), _quantity(row.get("quantity")), price,
            discount=_money(discount, currency, "discount") if discount else None,
            sku=(row.get("sku") or "").strip() or None, collections=collections,
            gift_card="gift-cards" in collections,
        ))

    def _refund(self, builders: dict[str, _OrderBuilder], number: int, row: dict[str, str]) -> Refund:
        order_id = (row.get("order_id") or "").strip()
        builder = builders.get(order_id)
        if builder is None:
            raise _Skip(f"refund of order {order_id!r}, which is not in the file (or was dropped)")
        currency = _currency(row.get("currency"))
        if currency != builder.currency:
            raise _Skip(f"refund in {currency} of order {order_id} paid in {builder.currency}")
        refund_id = (row.get("refund_id") or "").strip() or f"{order_id}-refund-{number}"
        at = _at(row.get("at") or "", "at")
        if at < builder.at:
            raise _Skip(f"refund of order {order_id} dated before the order")
        return Refund(refund_id, order_id, at, amount=_money(row.get("amount"), currency, "amount"))


class _ShopifyReader(_Reader):
    required = SHOPIFY_REQUIRED

    def read(self) -> History:
        builders: dict[str, _OrderBuilder] = {}
        firsts: dict[str, dict[str, str]] = {}
        skipped: set[str] = set()
        for line, row in self.rows():
            name = (row.get("Name") or "").strip()
            if not name:
                self.bad(line, "Name (the order number) is empty")
                continue
            if name in skipped:
                continue
            try:
                if name not in builders:
                    builder = self._order(name, line, row)
                    if builder is None:
                        skipped.add(name)
                        continue
                    builders[name], firsts[name] = builder, row
                self._line(builders[name], row)
            except (_Skip, LoyaltyError) as error:
                self.bad(line, f"order {name}: {error}")
                builders.pop(name, None)
                skipped.add(name)
        for name, builder in builders.items():
            self._discount(builder, firsts[name])
        _finish(self, builders)
        known = {order.order_id for order in self.history.orders}
        for name, builder in builders.items():
            if builder.order_id in known:
                self._aftermath(builder, firsts[name])
        return self.history

    def _order(self, name: str, line: int, row: dict[str, str]) -> _OrderBuilder | None:
        if not (row.get("Created at") or "").strip():
            raise _Skip("its first row has no Created at (order-level fields come on an order's first row)")
        if (row.get("Financial Status") or "").strip().lower() in SHOPIFY_UNPAID:
            self.history.unpaid += 1
            return None
        shopify_id = (row.get("Id") or "").strip()
        builder = _OrderBuilder(shopify_id or name, _member(None, row.get("Email")),
                                _at(row["Created at"], "Created at"), _currency(row.get("Currency")), line)
        if shopify_id:
            # The export lacks the line ids and customer id a webhook's order carries: only the
            # order id can make both reports one order (see docs/import.md).
            builder.fingerprint = shopify_fingerprint(shopify_id)
        return builder

    def _line(self, builder: _OrderBuilder, row: dict[str, str]) -> None:
        currency = builder.currency
        discount = _money(row.get("Lineitem discount"), currency, "Lineitem discount", default="0")
        sku = (row.get("Lineitem sku") or "").strip() or None
        builder.lines.append(LineItem(
            str(len(builder.lines) + 1), _quantity(row.get("Lineitem quantity")),
            _money(row.get("Lineitem price"), currency, "Lineitem price"),
            discount=discount if discount.amount else None, sku=sku,
            title=(row.get("Lineitem name") or "").strip() or None,
        ))

    def _discount(self, builder: _OrderBuilder, first: dict[str, str]) -> None:
        # "Discount Amount" is the order's whole discount, line discounts included.
        total = _money(first.get("Discount Amount"), builder.currency, "Discount Amount", default="0").amount
        rest = total - sum((line.discount.amount for line in builder.lines if line.discount), Decimal(0))
        if rest > 0:
            builder.discount = Money(rest, builder.currency)

    def _aftermath(self, builder: _OrderBuilder, first: dict[str, str]) -> None:
        """Cancellations and refunds: the export dates neither refund, so a refund is taken
        back at the order's own time (pending points go first)."""
        try:
            cancelled = (first.get("Cancelled at") or "").strip()
            if cancelled:
                self.history.cancellations.append(Cancellation(builder.order_id, _at(cancelled, "Cancelled at")))
                return
            refunded = _money(first.get("Refunded Amount"), builder.currency, "Refunded Amount", default="0")
            if refunded.amount > 0:
                self.history.refunds.append(Refund(f"{builder.order_id}-refunded", builder.order_id, builder.at,
                                                   amount=refunded))
        except (_Skip, LoyaltyError) as error:
            self.bad(builder.first_line, f"order {builder.order_id}: {error}")


def write_generic(path: str | Path, rows: list[dict[str, Any]]) -> None:
    """Write generic-CSV ``rows`` (dicts keyed by :data:`GENERIC_COLUMNS`); for tests and the bench."""
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, GENERIC_COLUMNS, extrasaction="raise")
        writer.writeheader()
        writer.writerows(rows)


# For the readers of the other formats, in their own modules.
Skip = _Skip
Reporter = _Reader
currency_of = _currency
parse_at = _at
parse_money = _money

__all__ = ["FORMATS", "GENERIC_COLUMNS", "BadRow", "GuestOrder", "History", "read_history", "shopify_fingerprint",
           "write_generic"]
