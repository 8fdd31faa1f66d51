"""A Stripe charge's card fingerprint and billing address reach the core (for the referral
checks), for charges made without a payment intent (those earn from their own event)."""

from __future__ import annotations

import stripe_events as events
from loyalty_stripe.webhooks import handle_charge_succeeded


def test_a_charge_carries_its_cards_fingerprint_and_billing_address():
    document = events.charge(payment_intent=None)
    document["payment_method_details"] = {"type": "card", "card": {"brand": "visa", "last4": "4242",
                                                                    "fingerprint": "Xt5EWLLDS7FJjR1c"}}
    document["billing_details"]["address"] = {"line1": "510 Townsend St", "line2": None, "city": "San Francisco",
                                              "state": "CA", "postal_code": "94103", "country": "US"}
    [order] = handle_charge_succeeded(document, None, None)
    assert order.payer_fingerprint == "Xt5EWLLDS7FJjR1c"
    assert order.address == "510 Townsend St, San Francisco, 94103, US"


def test_a_charge_without_card_details_carries_none():
    [order] = handle_charge_succeeded(events.charge(payment_intent=None), None, None)
    assert (order.payer_fingerprint, order.address) == (None, None)
