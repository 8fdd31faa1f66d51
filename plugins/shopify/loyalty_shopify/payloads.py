"""The parts of Shopify's REST webhook payloads that loyalty needs, validated at the edge.

Money is always read from the ``*_set.shop_money`` twins: they are decimal strings in the
shop's currency, while some scalar fields (a refund line's ``subtotal``) are JSON numbers,
which would arrive as floats. Ids are 64-bit integers in JSON; they become strings here, as
the core keys them. Everything else in a payload is ignored.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _text_id(value: Any) -> Any:
    # 820982911946154508 is past a double's exact range: JSON parsers that read it as an int
    # keep it exact, and it is compared as text from here on.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


ShopifyId = Annotated[str, BeforeValidator(_text_id), Field(min_length=1, max_length=64)]


class Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Money(Payload):
    amount: Annotated[str, Field(pattern=r"^-?\d+(\.\d+)?$")]
    currency_code: Annotated[str, Field(min_length=3, max_length=3)]


class MoneySet(Payload):
    shop_money: Money
    presentment_money: Money | None = None

    def shop(self) -> Decimal:
        return Decimal(self.shop_money.amount)

    def presentment(self) -> Decimal:
        return Decimal((self.presentment_money or self.shop_money).amount)


class TaxLine(Payload):
    price_set: MoneySet


class DiscountAllocation(Payload):
    amount_set: MoneySet


class LineItem(Payload):
    id: ShopifyId
    product_id: ShopifyId | None = None
    variant_id: ShopifyId | None = None
    sku: str | None = None
    title: str | None = None
    quantity: Annotated[int, Field(ge=0)]
    price_set: MoneySet
    gift_card: bool = False
    tax_lines: list[TaxLine] = []
    discount_allocations: list[DiscountAllocation] = []


class Customer(Payload):
    id: ShopifyId
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None

    @property
    def name(self) -> str | None:
        return " ".join(part for part in (self.first_name, self.last_name) if part) or None


class Address(Payload):
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    zip: str | None = None
    country_code: str | None = None


class DiscountCode(Payload):
    code: str


class Order(Payload):
    id: ShopifyId
    name: str | None = None
    email: str | None = None
    contact_email: str | None = None
    customer: Customer | None = None
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    presentment_currency: str | None = None
    taxes_included: bool = False
    test: bool = False
    source_name: str | None = None
    financial_status: str | None = None
    created_at: datetime
    processed_at: datetime | None = None
    cancelled_at: datetime | None = None
    line_items: list[LineItem]
    discount_codes: list[DiscountCode] = []
    shipping_address: Address | None = None
    billing_address: Address | None = None


class RefundLineItem(Payload):
    line_item_id: ShopifyId
    quantity: Annotated[int, Field(ge=0)]
    subtotal_set: MoneySet | None = None


class Refund(Payload):
    id: ShopifyId
    order_id: ShopifyId
    created_at: datetime
    processed_at: datetime | None = None
    refund_line_items: list[RefundLineItem] = []


class MarketingConsent(Payload):
    state: str | None = None


class CustomerPayload(Customer):
    """``customers/create`` and ``customers/update``: the customer resource itself."""

    created_at: datetime | None = None
    updated_at: datetime | None = None
    email_marketing_consent: MarketingConsent | None = None


class PrivacyCustomer(Payload):
    id: ShopifyId | None = None
    email: str | None = None


class CustomerPrivacyRequest(Payload):
    """``customers/redact`` and ``customers/data_request``."""

    shop_domain: str | None = None
    customer: PrivacyCustomer
    orders_to_redact: list[ShopifyId] = []
    orders_requested: list[ShopifyId] = []
    data_request: dict[str, Any] | None = None


__all__ = [
    "CustomerPrivacyRequest","Customer", "CustomerPayload", "LineItem", "MoneySet", "Order", "Refund", "RefundLineItem"]
