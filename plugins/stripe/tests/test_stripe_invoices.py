"""Paid invoices earn per invoice on their lines, with the program's first-invoice and renewal
rules; the invoice and its payment intent credit once; refunds of the payment find it."""

from __future__ import annotations

import pytest
import stripe_events as stripe_event
from stripe_program import PROGRAM

from loyalty_sdk.core.errors import MemberNotFound


@pytest.fixture
def program() -> dict:
    # A first invoice earns double; renewals the base rate; set-up fees (prod_setup) nothing.
    return {**PROGRAM, "earn": {**PROGRAM["earn"], "exclude_product_ids": ["prod_setup"]},
            "campaigns": [{"id": "welcome", "multiplier": "2", "collections": ["subscription-first"]}]}


def points(runtime, ref: str = "cus_1") -> int:
    try:
        found = runtime.loyalty("default").balance(ref)
    except MemberNotFound:
        return 0
    return found.available + found.pending


def plan(amount: int = 3000, **options) -> list[dict]:
    return [stripe_event.invoice_line("il_plan", amount, **options)]


def test_the_first_invoice_and_the_renewals_follow_their_own_rules(send, process, runtime):
    send(stripe_event.event("invoice.paid", stripe_event.invoice("in_1", plan() + [
        stripe_event.invoice_line("il_setup", 1000, product="prod_setup")]), "evt_1"))
    send(stripe_event.event("invoice.paid", stripe_event.invoice("in_2", plan(), billing_reason="subscription_cycle"),
                            "evt_2"))
    process()
    assert points(runtime) == 60 + 30  # the first plan invoice doubled, the set-up fee excluded, a renewal
    reasons = [line.reason for line in runtime.loyalty("default").history("cus_1")]
    assert sorted(reasons) == ["order in_1: 30 points on spend, +30 2x campaign welcome",
                               "order in_2: 30 points on spend"]


def test_discounts_inclusive_tax_and_a_customer_balance_earn_nothing(send, process, runtime):
    # 50.00 with 10.00 off and 4.00 of included tax: 36.00 of merchandise. 9.00 of the 40.00
    # total came from the customer's balance: the customer paid 31.00 of it.
    document = stripe_event.invoice("in_1", plan(5000, discount=1000, inclusive_tax=400),
                                    billing_reason="subscription_cycle", amount_paid=3100)
    send(stripe_event.event("invoice.paid", document))
    process()
    assert points(runtime) == 27  # 36.00 less the 9.00 the balance paid


def test_an_invoice_and_its_payment_intent_earn_once_and_its_refund_finds_it(send, process, runtime, api):
    api.invoice_payments["pi_9"] = "in_1"
    send(stripe_event.event("payment_intent.succeeded", stripe_event.payment_intent("pi_9", amount=3000), "evt_pi"))
    send(stripe_event.event("invoice.paid", stripe_event.invoice("in_1", plan()), "evt_in"))
    process()
    assert points(runtime) == 60  # the invoice earns, with its first-invoice rule
    charge = stripe_event.charge("ch_9", amount=3000, payment_intent="pi_9")
    send(stripe_event.event("charge.refunded", stripe_event.refunded(charge, 1500), "evt_refund"))
    process()
    assert points(runtime) == 30  # half the payment back: half the points
    assert runtime.loyalty("default").doctor()["ok"]


def test_the_payment_intent_is_taken_from_the_invoice_when_it_names_it(send, process, runtime):
    send(stripe_event.event("invoice.paid", stripe_event.invoice("in_1", plan(), payment_intent="pi_7"), "evt_in"))
    charge = stripe_event.charge("ch_7", amount=3000, payment_intent="pi_7")
    send(stripe_event.event("charge.refunded", stripe_event.refunded(charge, 3000), "evt_refund"))
    process()
    assert points(runtime) == 0


def test_the_lines_are_read_from_stripe_when_the_event_lists_only_some(send, process, runtime, api):
    lines = plan() + [stripe_event.invoice_line("il_addon", 2000, product="prod_addon")]
    api.invoice_lines["in_1"] = lines
    send(stripe_event.event("invoice.paid", stripe_event.invoice("in_1", lines[:1], has_more=True)))
    process()
    assert points(runtime) == 100  # both lines, doubled as a first invoice
    assert any(path == "/v1/invoices/in_1/lines" for path, _ in api.reads)


def test_an_invoice_paid_with_nothing_earns_nothing(send, process, runtime):
    send(stripe_event.event("invoice.paid", stripe_event.invoice("in_1", plan(), amount_paid=0)))
    process()
    assert points(runtime) == 0


def test_a_plan_change_earns_on_the_new_plan_less_the_credit_for_the_old(send, process, runtime):
    # Upgrading mid-period: 50.00 for the rest of the period on the new plan, 30.00 back for
    # the unused time on the old one. The customer paid 20.00.
    lines = [stripe_event.invoice_line("il_new", 5000, product="prod_pro"),
             stripe_event.invoice_line("il_unused", -3000, product="prod_plan")]
    send(stripe_event.event("invoice.paid", stripe_event.invoice("in_3", lines, billing_reason="subscription_update")))
    process()
    assert points(runtime) == 20
