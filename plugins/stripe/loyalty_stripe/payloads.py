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


class Address(Payload):
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None


class BillingDetails(Payload):
    email: str | None = None
    address: Address | None = None


class Card(Payload):
    fingerprint: str | None = None
    """Stripe's fingerprint of the card number: the same card gives the same one."""


class PaymentMethodDetails(Payload):
    card: Card | None = None


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
    invoice: StripeId | None = None
    """API versions before 2025-03-31 name the invoice a payment intent pays."""


class Charge(Payload):
    id: StripeId
    amount: StrictInt
    amount_captured: StrictInt | None = None
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    customer: StripeId | None = None
    payment_intent: StripeId | None = None
    receipt_email: str | None = None
    billing_details: BillingDetails | None = None
    payment_method_details: PaymentMethodDetails | None = None
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
    reason: str | None = None


class Customer(Payload):
    id: StripeId
    email: str | None = None
    name: str | None = None
    created: StrictInt | None = None
    metadata: dict[str, str] = {}


class Product(Payload):
    id: StripeId
    name: str | None = None
    metadata: dict[str, str] = {}


def _product_of(value: Any) -> Any:
    # Unexpanded, a price names its product by id; expanded, the product comes with its metadata.
    return {"id": value} if isinstance(value, str) else value


class Price(Payload):
    id: StripeId | None = None
    product: Annotated[Product | None, BeforeValidator(_product_of)] = None
    lookup_key: str | None = None
    metadata: dict[str, str] = {}


class CheckoutLineItem(Payload):
    """An item of a Checkout Session (``li_...``): its amounts are the line's, all quantities."""

    id: StripeId
    amount_subtotal: StrictInt
    amount_total: StrictInt
    amount_discount: StrictInt = 0
    amount_tax: StrictInt = 0
    quantity: StrictInt | None = None
    description: str | None = None
    price: Price | None = None


class CheckoutLineItems(Payload):
    data: list[CheckoutLineItem]
    has_more: bool = False


class CustomerDetails(Payload):
    email: str | None = None
    name: str | None = None


class TotalDetails(Payload):
    amount_discount: StrictInt = 0
    amount_shipping: StrictInt = 0
    amount_tax: StrictInt = 0


class CheckoutSession(Payload):
    id: StripeId
    mode: str
    payment_status: str
    amount_subtotal: StrictInt | None = None
    amount_total: StrictInt | None = None
    currency: Annotated[str, Field(min_length=3, max_length=3)] | None = None
    customer: StripeId | None = None
    customer_email: str | None = None
    customer_details: CustomerDetails | None = None
    payment_intent: StripeId | None = None
    invoice: StripeId | None = None
    client_reference_id: str | None = None
    created: StrictInt
    metadata: dict[str, str] = {}
    total_details: TotalDetails | None = None
    line_items: CheckoutLineItems | None = None
    """Present only when the session was fetched with ``expand: ["line_items"]``."""


class LineTax(Payload):
    amount: StrictInt
    inclusive: bool | None = None
    """``tax_amounts`` of API versions before 2025-03-31 say ``inclusive``..."""
    tax_behavior: str | None = None
    """...``taxes`` of later ones say ``tax_behavior``."""

    @property
    def is_inclusive(self) -> bool:
        return bool(self.inclusive) or self.tax_behavior == "inclusive"


class LineDiscount(Payload):
    amount: StrictInt


class PriceDetails(Payload):
    product: StripeId | None = None


class LinePricing(Payload):
    price_details: PriceDetails | None = None


class InvoiceLine(Payload):
    id: StripeId
    amount: StrictInt
    """The line's amount before discounts; it contains the tax of tax-inclusive prices."""
    quantity: StrictInt | None = None
    description: str | None = None
    discount_amounts: list[LineDiscount] | None = None
    tax_amounts: list[LineTax] | None = None
    taxes: list[LineTax] | None = None
    price: Price | None = None
    """API versions before 2025-03-31; later ones name the product under ``pricing``."""
    pricing: LinePricing | None = None

    @property
    def product_id(self) -> str | None:
        if self.pricing and self.pricing.price_details and self.pricing.price_details.product:
            return self.pricing.price_details.product
        return self.price.product.id if self.price and self.price.product else None


class InvoiceLines(Payload):
    data: list[InvoiceLine]
    has_more: bool = False


class PaymentDetails(Payload):
    payment_intent: StripeId | None = None


class InvoicePayment(Payload):
    payment: PaymentDetails | None = None
    status: str | None = None


class InvoicePayments(Payload):
    data: list[InvoicePayment]


class SubscriptionDetails(Payload):
    subscription: StripeId | None = None
    metadata: dict[str, str] | None = None


class InvoiceParent(Payload):
    subscription_details: SubscriptionDetails | None = None


class Invoice(Payload):
    id: StripeId
    amount_paid: StrictInt
    total: StrictInt | None = None
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    customer: StripeId | None = None
    customer_email: str | None = None
    billing_reason: str | None = None
    subscription: StripeId | None = None
    """API versions before 2025-03-31; later ones say ``parent.subscription_details``."""
    parent: InvoiceParent | None = None
    payment_intent: StripeId | None = None
    """API versions before 2025-03-31; later ones list ``payments`` (when expanded)."""
    payments: InvoicePayments | None = None
    lines: InvoiceLines | None = None
    created: StrictInt
    metadata: dict[str, str] | None = None

    @property
    def subscription_id(self) -> str | None:
        details = self.parent.subscription_details if self.parent else None
        return self.subscription or (details.subscription if details else None)


class EventData(Payload):
    object: dict[str, Any]


class Event(Payload):
    """The envelope: ``evt_...`` id, type, and the object it is about."""

    id: StripeId
    type: str
    created: StrictInt
    data: EventData


__all__ = ["Charge", "CheckoutLineItem", "CheckoutSession", "Customer", "Dispute", "Event", "Invoice", "InvoiceLine",
           "PaymentIntent"]
