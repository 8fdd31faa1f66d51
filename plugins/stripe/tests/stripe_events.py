"""Stripe events written to Stripe's documented event schemas (the envelope and the objects'
fields loyalty reads), signed at test time with the stripe library's own signature helper."""

from __future__ import annotations

import time
from typing import Any

import orjson
import stripe

WEBHOOK_SECRET = "whsec_test_secret_for_loyalty_sdk"
CREATED = 1772460000  # 2026-03-02


def event(event_type: str, obj: dict[str, Any], event_id: str = "evt_1") -> dict[str, Any]:
    return {"id": event_id, "object": "event", "api_version": "2026-10-28.endive", "created": CREATED,
            "data": {"object": obj}, "livemode": False, "pending_webhooks": 1,
            "request": {"id": "req_1", "idempotency_key": None}, "type": event_type}


def payment_intent(pi_id: str = "pi_1", amount: int = 2599, currency: str = "usd", customer: str | None = "cus_1",
                   metadata: dict[str, str] | None = None, receipt_email: str | None = None) -> dict[str, Any]:
    return {"id": pi_id, "object": "payment_intent", "amount": amount, "amount_received": amount,
            "currency": currency, "customer": customer, "receipt_email": receipt_email, "status": "succeeded",
            "created": CREATED, "latest_charge": f"ch_{pi_id[3:]}", "metadata": metadata or {},
            "livemode": False, "payment_method": "pm_card_visa"}


def charge(ch_id: str = "ch_1", amount: int = 2599, currency: str = "usd", payment_intent: str | None = "pi_1",
           customer: str | None = "cus_1", email: str | None = None) -> dict[str, Any]:
    return {"id": ch_id, "object": "charge", "amount": amount, "amount_captured": amount, "amount_refunded": 0,
            "currency": currency, "customer": customer, "payment_intent": payment_intent, "paid": True,
            "refunded": False, "created": CREATED, "receipt_email": None, "metadata": {},
            "billing_details": {"email": email, "name": None, "address": None, "phone": None}}


def customer(cus_id: str = "cus_1", email: str = "jenny@example.com", name: str = "Jenny Rosen") -> dict[str, Any]:
    return {"id": cus_id, "object": "customer", "email": email, "name": name, "created": CREATED, "metadata": {},
            "balance": 0, "livemode": False}


def signed(document: dict[str, Any], secret: str = WEBHOOK_SECRET, at: int | None = None) -> tuple[bytes, dict]:
    body = orjson.dumps(document)
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret,
                                                               timestamp=at if at is not None else int(time.time()))
    return body, {"Stripe-Signature": header, "Content-Type": "application/json"}


def refunded(charge_document: dict[str, Any], amount_refunded: int) -> dict[str, Any]:
    """The charge as ``charge.refunded`` carries it: cumulative ``amount_refunded``."""
    return {**charge_document, "amount_refunded": amount_refunded,
            "refunded": amount_refunded >= charge_document["amount"]}


def dispute(status: str, charge_id: str = "ch_1", payment_intent: str | None = "pi_1") -> dict[str, Any]:
    return {"id": "dp_1", "object": "dispute", "amount": 2599, "currency": "usd", "charge": charge_id,
            "payment_intent": payment_intent, "reason": "fraudulent", "status": status, "created": CREATED}


def checkout_line_item(li_id: str, amount: int, quantity: int = 1, *, discount: int = 0, tax: int = 0,
                       product: str | dict[str, Any] = "prod_mug", currency: str = "usd") -> dict[str, Any]:
    """A Checkout Session item: ``amount_subtotal`` before discounts and tax, ``amount_total``
    after both (exclusive tax added)."""
    return {"id": li_id, "object": "item", "amount_subtotal": amount, "amount_discount": discount,
            "amount_tax": tax, "amount_total": amount - discount + tax, "currency": currency,
            "description": li_id, "quantity": quantity,
            "price": {"id": f"price_{li_id}", "object": "price", "product": product, "unit_amount": amount // quantity,
                      "currency": currency, "lookup_key": None, "metadata": {}}}


def checkout_session(cs_id: str = "cs_1", items: list[dict[str, Any]] | None = None, *, payment_intent: str | None = "pi_1",
                     mode: str = "payment", payment_status: str = "paid", customer: str | None = "cus_1",
                     email: str | None = "jenny@example.com", shipping: int = 0, expanded: bool = False,
                     currency: str = "usd") -> dict[str, Any]:
    """A completed Checkout Session as its event carries it: no ``line_items`` unless expanded."""
    items = items or []
    subtotal = sum(item["amount_subtotal"] for item in items)
    discount = sum(item["amount_discount"] for item in items)
    tax = sum(item["amount_tax"] for item in items)
    document = {"id": cs_id, "object": "checkout.session", "mode": mode, "status": "complete",
                "payment_status": payment_status, "amount_subtotal": subtotal,
                "amount_total": subtotal - discount + tax + shipping, "currency": currency, "customer": customer,
                "customer_email": None, "customer_details": {"email": email, "name": "Jenny Rosen"},
                "payment_intent": payment_intent, "invoice": None, "client_reference_id": None,
                "created": CREATED, "metadata": {},
                "total_details": {"amount_discount": discount, "amount_shipping": shipping, "amount_tax": tax}}
    if expanded:
        document["line_items"] = stripe_list(items, f"/v1/checkout/sessions/{cs_id}/line_items")
    return document


def invoice_line(il_id: str, amount: int, *, product: str = "prod_plan", discount: int = 0,
                 inclusive_tax: int = 0, quantity: int = 1) -> dict[str, Any]:
    """An invoice line of the current API shape (``pricing``, ``taxes``)."""
    taxes = [{"amount": inclusive_tax, "tax_behavior": "inclusive", "taxability_reason": "standard_rated",
              "taxable_amount": amount - inclusive_tax, "type": "tax_rate_details"}] if inclusive_tax else []
    return {"id": il_id, "object": "line_item", "amount": amount, "currency": "usd", "description": il_id,
            "quantity": quantity, "discount_amounts": [{"amount": discount, "discount": "di_1"}] if discount else [],
            "taxes": taxes, "subtotal": amount,
            "pricing": {"type": "price_details", "price_details": {"price": f"price_{il_id}", "product": product},
                        "unit_amount_decimal": str(amount // quantity)}}


def invoice(in_id: str = "in_1", lines: list[dict[str, Any]] | None = None, *, billing_reason: str = "subscription_create",
            payment_intent: str | None = None, amount_paid: int | None = None, customer: str | None = "cus_1",
            has_more: bool = False, exclusive_tax: int = 0) -> dict[str, Any]:
    """A paid invoice of the current API shape: no ``payment_intent`` (a payment is listed under
    ``payments`` only when expanded), the subscription under ``parent``."""
    lines = lines or []
    total = sum(line["amount"] - sum(d["amount"] for d in line["discount_amounts"]) for line in lines) + exclusive_tax
    document = {"id": in_id, "object": "invoice", "amount_due": total,
                "amount_paid": total if amount_paid is None else amount_paid, "total": total, "currency": "usd",
                "customer": customer, "customer_email": "jenny@example.com", "billing_reason": billing_reason,
                "status": "paid", "created": CREATED, "metadata": {},
                "parent": {"type": "subscription_details", "quote_details": None,
                           "subscription_details": {"subscription": "sub_1", "metadata": {}}},
                "lines": stripe_list(lines, f"/v1/invoices/{in_id}/lines", has_more=has_more)}
    if payment_intent is not None:
        document["payments"] = stripe_list([{"id": "inpay_1", "object": "invoice_payment", "invoice": in_id,
                                             "status": "paid", "is_default": True,
                                             "payment": {"type": "payment_intent", "payment_intent": payment_intent}}],
                                           f"/v1/invoices/{in_id}/payments")
    return document


def stripe_list(data: list[dict[str, Any]], url: str, has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}
