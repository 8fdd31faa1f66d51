"""The JSON a custom store sends: orders, refunds, cancellations, activities and customers.

Validated at the edge with pydantic, then turned into the core's attrs models; the hot path
never sees these. Used by the signed ``custom`` webhooks and by the REST API alike, so a
store can push or call with one document shape. Money is a string (``"19.99"``): a JSON
number is refused, since a float cannot hold money exactly.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StrictStr,
    field_validator,
    model_validator,
)

from loyalty_sdk.core.models import Activity, Cancellation, LineItem, MemberRef, Order, Refund, RefundLine
from loyalty_sdk.core.money import MINOR_UNITS, Money

FIRST_YEAR, LAST_YEAR = 1900, 2999
MAX_ORDER = Decimal(10) ** 13
"""The most an order's lines may add up to, in its currency: ledger figures are 64-bit."""
MAX_PAYLOAD = 16_384
"""Bytes of an activity's payload, as JSON."""


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("must include a UTC offset, like 2026-03-01T12:00:00Z")
    # Years far out overflow when converted to UTC or moved by pending and expiry days.
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ValueError(f"must be between the years {FIRST_YEAR} and {LAST_YEAR}")
    return moment


Amount = Annotated[StrictStr, Field(examples=["19.99"], pattern=r"^\d{1,15}(\.\d{1,6})?$")]
def _written_out(value: Any) -> Any:
    # A bare number would be read as a Unix timestamp: dates and times are written out.
    if isinstance(value, (int, float)):
        raise ValueError("must be an ISO 8601 string, like 2026-03-01T12:00:00Z or 1990-05-17")
    return value


_YEARS = r"^(19[0-9]{2}|2[0-9]{3})-"
"""FIRST_YEAR to LAST_YEAR, as the JSON schema's pattern."""
Moment = Annotated[datetime, BeforeValidator(_written_out), AfterValidator(_aware),
                   Field(json_schema_extra={"pattern": _YEARS})]
Day = Annotated[date, BeforeValidator(_written_out)]
def _whole(value: Any) -> Any:
    # JSON has one number type: 24.0 is the integer 24 to JSON Schema. A fraction, a string or
    # a boolean is still refused.
    return int(value) if isinstance(value, float) and value.is_integer() else value


def whole_number(low: int, high: int, **schema: Any) -> Any:
    """An integer in [low, high] (quantities, points), refusing what is not one."""
    return Annotated[int, Strict(), Field(ge=low, le=high, json_schema_extra=schema or None),
                     BeforeValidator(_whole)]


def _iso_4217(code: str) -> str:
    if code not in MINOR_UNITS:
        raise ValueError(f"{code!r} is not an ISO 4217 currency code")
    return code


Currency = Annotated[str, AfterValidator(_iso_4217),
                     Field(examples=["USD"], json_schema_extra={"enum": sorted(MINOR_UNITS)})]
"""An ISO 4217 code in capitals, as every platform sends it."""
Identifier = Annotated[str, Field(min_length=1, max_length=255)]
Email = Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
PersonName = Annotated[str, Field(max_length=255)]


def named_by(*fields: str) -> dict[str, Any]:
    """JSON schema: at least one of ``fields`` present and not null (what the validators check),
    so clients and schema-driven tools know it."""
    return {"anyOf": [{"required": [name], "properties": {name: {"type": "string"}}} for name in fields]}


class Edge(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class CustomerIn(Edge):
    """Who bought: the store's customer id, the email, or both."""

    model_config = ConfigDict(json_schema_extra=named_by("id", "email"))

    id: Identifier | None = None
    email: Email | None = None
    name: PersonName | None = None
    birthday: Day | None = None

    @model_validator(mode="after")
    def _named(self) -> CustomerIn:
        if not self.id and not self.email:
            raise ValueError("a customer needs an id or an email")
        return self

    def ref(self) -> MemberRef:
        return MemberRef(customer_id=self.id, email=self.email)


class LineIn(Edge):
    id: Identifier
    quantity: whole_number(0, 1_000_000)  # type: ignore[valid-type]
    unit_price: Amount
    discount: Amount | None = None
    tax: Amount | None = None
    product_id: Identifier | None = None
    sku: Identifier | None = None
    title: Annotated[str, Field(max_length=500)] | None = None
    collections: Annotated[list[Identifier], Field(max_length=100)] = []
    gift_card: StrictBool = False


class OrderIn(Edge):
    """A paid order. Amounts are in ``currency``; ``discount`` on a line is that line's own."""

    id: Identifier
    customer: CustomerIn
    placed_at: Moment
    currency: Currency
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=1000)]
    order_discount: Amount | None = None
    shipping: Amount | None = None
    taxes_included: StrictBool = False
    payer_fingerprint: Identifier | None = None
    """The payment provider's fingerprint of the card or account that paid, if you have it:
    referrals refuse a friend paying with the referrer's card. Only a digest is kept."""
    address: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    """The shipping (else billing) address as one line: referrals refuse a friend whose order
    goes to the referrer's address. Only a digest is kept."""

    @model_validator(mode="after")
    def _bounded(self) -> OrderIn:
        gross = sum((Decimal(line.unit_price) * line.quantity for line in self.lines), Decimal(0))
        if gross > MAX_ORDER:
            raise ValueError(f"the order's lines add up to {gross}, over the {MAX_ORDER:,} an order may have")
        return self

    def to_core(self, source: str) -> Order:
        currency = self.currency

        def money(amount: str | None) -> Money | None:
            return None if amount is None else Money(amount, currency)

        return Order(
            self.id, self.customer.ref(), self.placed_at, currency,
            [LineItem(line.id, line.quantity, Money(line.unit_price, currency), money(line.discount),
                      money(line.tax), line.product_id, line.sku, line.title, frozenset(line.collections),
                      line.gift_card) for line in self.lines],
            order_discount=money(self.order_discount), shipping=money(self.shipping),
            taxes_included=self.taxes_included, source=source, payer_fingerprint=self.payer_fingerprint,
            address=self.address,
        )


class RefundLineIn(Edge):
    line_id: Identifier
    quantity: whole_number(0, 1_000_000) = 0  # type: ignore[valid-type]
    amount: Amount | None = None


class RefundIn(Edge):
    """Money given back on an order: by line (preferred), or as a merchandise ``amount``."""

    id: Identifier
    order_id: Identifier
    refunded_at: Moment
    currency: Currency | None = None
    """The order's currency; needed when the refund names amounts."""
    lines: Annotated[list[RefundLineIn], Field(max_length=1000)] = []
    amount: Amount | None = None

    @model_validator(mode="after")
    def _priced(self) -> RefundIn:
        if self.currency is None and (self.amount is not None or any(line.amount for line in self.lines)):
            raise ValueError("a refund that names amounts needs its currency")
        if self.amount is None and not self.lines:
            raise ValueError("a refund needs lines or an amount")
        return self

    def to_core(self) -> Refund:
        currency = self.currency or ""
        return Refund(
            self.id, self.order_id, self.refunded_at,
            [RefundLine(line.line_id, line.quantity, None if line.amount is None else Money(line.amount, currency))
             for line in self.lines],
            None if self.amount is None else Money(self.amount, currency),
        )


class CancellationIn(Edge):
    order_id: Identifier
    cancelled_at: Moment
    reason: Annotated[str, Field(max_length=255)] = "cancelled"

    def to_core(self) -> Cancellation:
        return Cancellation(self.order_id, self.cancelled_at, self.reason)


class ActivityIn(Edge):
    """A non-order action: ``signup``, ``birthday``, ``review``, ``social_follow`` or a custom kind."""

    id: Identifier | None = None
    customer: CustomerIn
    kind: Annotated[str, Field(min_length=1, max_length=64)]
    occurred_at: Moment
    payload: dict[str, Any] = {}

    @field_validator("payload")
    @classmethod
    def _storable(cls, payload: dict[str, Any]) -> dict[str, Any]:
        # The payload is fingerprinted and stored as JSON: refuse what cannot be (integers
        # beyond 64 bits), and keep it small.
        try:
            size = len(orjson.dumps(payload))
        except orjson.JSONEncodeError as error:
            raise ValueError(f"cannot be stored: {error}") from None
        if size > MAX_PAYLOAD:
            raise ValueError(f"is {size:,} bytes as JSON; at most {MAX_PAYLOAD:,}")
        return payload

    def to_core(self) -> Activity:
        return Activity(self.kind, self.customer.ref(), self.occurred_at, self.id, dict(self.payload))


__all__ = ["ActivityIn", "CancellationIn", "CustomerIn", "LineIn", "OrderIn", "RefundIn", "RefundLineIn"]
