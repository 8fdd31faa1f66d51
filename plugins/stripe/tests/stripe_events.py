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
