"""What the plugin reads back from Stripe while processing an event, when an API key is set.

Events do not carry everything: a Checkout Session's line items are never in its event, an
invoice lists at most its first lines and (since API version 2025-03-31) not the payment
intent that paid it, and a payment intent does not say that a checkout session or an invoice
reports the same payment. Each read here fills one of those gaps. A failure propagates: the
delivery fails and the inbox tries it again later, so a Stripe outage delays points and never
changes them.
"""

from __future__ import annotations

from typing import Any

import stripe

from loyalty_stripe import payloads


def _document(item: Any) -> dict[str, Any]:
    return item.to_dict() if hasattr(item, "to_dict") else dict(item)


def payment_reported_as(api: stripe.StripeClient, payment_intent: str) -> str | None:
    """The checkout session or invoice that reports this payment intent's payment, if any:
    their own events earn for it, with the lines and the subscription they know about."""
    try:
        sessions = api.v1.checkout.sessions.list(params={"payment_intent": payment_intent, "limit": 1})
        if sessions.data:
            return str(sessions.data[0].id)
        paid = api.v1.invoice_payments.list(params={
            "payment": {"type": "payment_intent", "payment_intent": payment_intent}, "limit": 1})
    except stripe.StripeError as error:
        if error.http_status == 404:
            # An API without these lists (an older stand-in such as localstripe) has neither
            # sessions nor invoice payments to report the payment.
            return None
        raise
    if paid.data:
        invoice = paid.data[0].invoice
        return str(invoice if isinstance(invoice, str) else invoice.id)
    return None


def checkout_line_items(api: stripe.StripeClient, session_id: str) -> list[payloads.CheckoutLineItem]:
    """Every item of a session, with its product (and the product's metadata) expanded."""
    page = api.v1.checkout.sessions.line_items.list(session_id, params={"limit": 100,
                                                                        "expand": ["data.price.product"]})
    return [payloads.CheckoutLineItem.model_validate(_document(item)) for item in page.auto_paging_iter()]


def invoice_lines(api: stripe.StripeClient, invoice_id: str) -> list[payloads.InvoiceLine]:
    page = api.v1.invoices.line_items.list(invoice_id, params={"limit": 100})
    return [payloads.InvoiceLine.model_validate(_document(line)) for line in page.auto_paging_iter()]


def invoice_payment_intent(api: stripe.StripeClient, invoice_id: str) -> str | None:
    """The payment intent that paid an invoice (refunds and disputes of it name that intent)."""
    paid = api.v1.invoice_payments.list(params={"invoice": invoice_id, "status": "paid", "limit": 10})
    for item in paid.data:
        found = payloads.InvoicePayment.model_validate(_document(item))
        if found.payment and found.payment.payment_intent:
            return found.payment.payment_intent
    return None


__all__ = ["checkout_line_items", "invoice_lines", "invoice_payment_intent", "payment_reported_as"]
