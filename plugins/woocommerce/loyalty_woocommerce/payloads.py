"""The parts of WooCommerce's REST v3 resources that loyalty needs, validated at the edge.

Webhooks deliver exactly what ``GET /wp-json/wc/v3/<resource>s/<id>`` answers, so the sync
reads the same models. Amounts are decimal strings and become Decimals; JSON numbers that
carry money (a line's ``price``) are never read, they would arrive as floats. ``*_gmt`` dates
are UTC without an offset. Ids become strings, as the core keys them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field


def _text_id(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _blank_is_none(value: Any) -> Any:
    return None if value == "" else value


def _not_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError("money must be a decimal string, not a JSON number")
    return value


WooId = Annotated[str, BeforeValidator(_text_id), Field(min_length=1, max_length=32, pattern=r"^\d+$")]
Amount = Annotated[Decimal, BeforeValidator(_not_float), Field(allow_inf_nan=False)]
GmtDate = Annotated[datetime, AfterValidator(_utc)]
OptionalGmtDate = Annotated[GmtDate | None, BeforeValidator(_blank_is_none)]


class Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Meta(Payload):
    key: str
    value: Any = None


class LineItem(Payload):
    id: WooId
    name: str | None = None
    product_id: Annotated[str, BeforeValidator(_text_id)] = "0"
    variation_id: Annotated[str, BeforeValidator(_text_id)] = "0"
    sku: str | None = None
    quantity: Annotated[int, Field(ge=0)]
    subtotal: Amount
    """Before discounts, without tax."""
    total: Amount
    """After discounts, without tax: what earns."""


class CouponLine(Payload):
    code: str


class RefundSummary(Payload):
    """An entry of the order's ``refunds`` list; ``total`` is negative (``"-10.00"``)."""

    id: WooId
    total: Amount
    reason: str | None = None


class Address(Payload):
    address_1: str | None = None
    address_2: str | None = None
    city: str | None = None
    postcode: str | None = None
    country: str | None = None


class Billing(Address):
    email: Annotated[str | None, BeforeValidator(_blank_is_none)] = None
    first_name: str | None = None
    last_name: str | None = None


class Order(Payload):
    id: WooId
    number: str | None = None
    status: str
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    customer_id: Annotated[int, Field(ge=0)] = 0
    billing: Billing = Billing()
    shipping: Address = Address()
    date_created_gmt: GmtDate
    date_modified_gmt: GmtDate
    date_paid_gmt: OptionalGmtDate = None
    total: Amount
    line_items: list[LineItem] = []
    coupon_lines: list[CouponLine] = []
    refunds: list[RefundSummary] = []


class RefundLine(Payload):
    """A line of a refund: negative quantity and total, the order's line in ``meta_data``."""

    id: WooId
    quantity: int = 0
    total: Amount = Decimal(0)
    meta_data: list[Meta] = []

    @property
    def refunded_item_id(self) -> str | None:
        for meta in self.meta_data:
            if meta.key == "_refunded_item_id" and meta.value not in (None, "", 0, "0"):
                return str(meta.value)
        return None


class Refund(Payload):
    """``GET /orders/<id>/refunds``: one refund with the lines it gave back."""

    id: WooId
    date_created_gmt: GmtDate
    amount: Amount
    reason: str | None = None
    line_items: list[RefundLine] = []
    shipping_lines: list[RefundLine] = []
    fee_lines: list[RefundLine] = []


class Customer(Payload):
    id: WooId
    email: Annotated[str | None, BeforeValidator(_blank_is_none)] = None
    first_name: str | None = None
    last_name: str | None = None
    date_created_gmt: OptionalGmtDate = None
    date_modified_gmt: OptionalGmtDate = None

    @property
    def name(self) -> str | None:
        return " ".join(part for part in (self.first_name, self.last_name) if part) or None


__all__ = ["Billing", "CouponLine", "Customer", "LineItem", "Order", "Refund", "RefundLine", "RefundSummary"]
