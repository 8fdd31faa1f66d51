"""Stripe payments earn once, in each currency's own minor units; the signature and its
300-second tolerance decide what is accepted; duplicates change nothing."""

from __future__ import annotations

import time

import pytest
import stripe_events as stripe_event
from sqlalchemy import func, select

from loyalty_sdk.core.storage import inbox as inbox_table


def stored(runtime) -> int:
    with runtime.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(inbox_table)).scalar_one()


def balance(runtime, ref: str) -> int:
    found = runtime.loyalty("default").balance(ref)
    return found.available + found.pending


def test_a_succeeded_payment_intent_earns_on_the_amount_received(send, process, runtime):
    assert send(stripe_event.event("payment_intent.succeeded", stripe_event.payment_intent(amount=2599))).json() == {
        "accepted": True}
    process()
    assert balance(runtime, "cus_1") == 25  # 25.99 USD, floored


@pytest.mark.parametrize(("amount", "currency", "points"), [
    (2599, "usd", 25),    # two decimals: 25.99
    (5000, "jpy", 50),    # zero-decimal: 5,000 yen at 1 point per 100 yen
    (12500, "kwd", 12),   # three decimals: 12.500 dinars
])
def test_amounts_are_read_with_each_currencys_own_exponent(send, process, runtime, amount, currency, points):
    send(stripe_event.event("payment_intent.succeeded", stripe_event.payment_intent(amount=amount, currency=currency)))
    process()
    assert balance(runtime, "cus_1") == points


def test_a_payment_and_its_charge_earn_once(send, process, runtime):
    send(stripe_event.event("payment_intent.succeeded", stripe_event.payment_intent(), event_id="evt_pi"))
    send(stripe_event.event("charge.succeeded", stripe_event.charge(), event_id="evt_ch"))
    process()
    assert balance(runtime, "cus_1") == 25


def test_a_charge_without_a_payment_intent_earns(send, process, runtime):
    send(stripe_event.event("charge.succeeded", stripe_event.charge(payment_intent=None, amount=1000)))
    process()
    assert balance(runtime, "cus_1") == 10


def test_the_member_is_found_by_metadata_then_customer_then_email(send, process, runtime):
    loyalty = runtime.loyalty("default")
    loyalty.enroll("store-42")
    send(stripe_event.event("payment_intent.succeeded", stripe_event.payment_intent(
        pi_id="pi_a", metadata={"loyalty_member_id": "store-42"}), event_id="evt_a"))
    send(stripe_event.event("payment_intent.succeeded", stripe_event.payment_intent(
        pi_id="pi_b", customer=None, receipt_email="guest@example.com"), event_id="evt_b"))
    send(stripe_event.event("charge.succeeded", stripe_event.charge(
        ch_id="ch_c", payment_intent=None, customer=None, email="billing@example.com"), event_id="evt_c"))
    process()
    assert balance(runtime, "store-42") == 25
    assert balance(runtime, "guest@example.com") == 25
    assert balance(runtime, "billing@example.com") == 25


def test_an_anonymous_payment_earns_nothing_and_is_not_an_error(send, process, runtime):
    send(stripe_event.event("payment_intent.succeeded", stripe_event.payment_intent(customer=None)))
    result = process()
    assert (result.done, result.dead) == (1, 0)


def test_a_new_customer_becomes_a_member(send, process, runtime):
    send(stripe_event.event("customer.created", stripe_event.customer()))
    process()
    member = runtime.loyalty("default").member("cus_1")
    assert (member.email, member.name) == ("jenny@example.com", "Jenny Rosen")


def test_a_forged_or_stale_event_is_401_and_leaves_nothing(client, runtime):
    document = stripe_event.event("payment_intent.succeeded", stripe_event.payment_intent())
    for body, headers in (stripe_event.signed(document, secret="whsec_someone_else"),
                          stripe_event.signed(document, at=int(time.time()) - 301),
                          stripe_event.signed(document, at=int(time.time()) - 3 * 86400)):  # replayed days later
        answer = client.post("/webhooks/stripe", content=body, headers=headers)
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_signature"
    body, headers = stripe_event.signed(document)
    assert client.post("/webhooks/stripe", content=body + b" ", headers=headers).status_code == 401
    assert stored(runtime) == 0


def test_an_event_replayed_within_tolerance_is_deduplicated(send, process, runtime):
    document = stripe_event.event("payment_intent.succeeded", stripe_event.payment_intent())
    send(document)
    assert send(document).json() == {"accepted": True, "duplicate": True}
    process()
    assert balance(runtime, "cus_1") == 25 and stored(runtime) == 1


def test_types_that_earn_nothing_are_acknowledged_and_not_kept(send, runtime):
    assert send(stripe_event.event("balance.available", {"object": "balance"})).json() == {"accepted": False}
    assert stored(runtime) == 0


def test_a_named_shop_has_its_own_path(send, process, runtime):
    runtime.add_shop("acme", "stripe")
    send(stripe_event.event("payment_intent.succeeded", stripe_event.payment_intent()), path="/webhooks/stripe/acme")
    process()
    assert runtime.loyalty("acme").balance("cus_1").available == 25
    assert send(stripe_event.event("payment_intent.succeeded", stripe_event.payment_intent(), "evt_x"),
                path="/webhooks/stripe/nowhere").json() == {"accepted": False}


def test_refunds_take_back_only_what_each_cumulative_total_adds(send, process, runtime):
    send(stripe_event.event("payment_intent.succeeded", stripe_event.payment_intent(amount=10000), "evt_pay"))
    charge = stripe_event.charge(amount=10000)
    send(stripe_event.event("charge.refunded", stripe_event.refunded(charge, 3000), "evt_r1"))
    process()
    assert balance(runtime, "cus_1") == 70  # 100 earned, 30.00 of 100.00 refunded
    send(stripe_event.event("charge.refunded", stripe_event.refunded(charge, 10000), "evt_r2"))  # then all of it
    send(stripe_event.event("charge.refunded", stripe_event.refunded(charge, 3000), "evt_r1_late"))  # stale, late
    process()
    assert balance(runtime, "cus_1") == 0
    assert runtime.loyalty("default").doctor()["ok"]


@pytest.mark.parametrize(("amount", "currency", "refunded", "left"), [
    (5000, "jpy", 2000, 30),     # zero decimals: 50 earned; 2,000 of 5,000 yen back takes 20
    (40000, "kwd", 10000, 30),   # three decimals: 40.000 dinars earn 40; 10.000 back takes 10
])
def test_refunds_in_zero_and_three_decimal_currencies(send, process, runtime, amount, currency, refunded, left):
    send(stripe_event.event("payment_intent.succeeded", stripe_event.payment_intent(amount=amount, currency=currency),
                            "evt_pay"))
    charge = stripe_event.charge(amount=amount, currency=currency)
    send(stripe_event.event("charge.refunded", stripe_event.refunded(charge, refunded), "evt_r1"))
    process()
    assert balance(runtime, "cus_1") == left


def test_a_lost_dispute_after_points_were_spent_takes_the_rest(send, process, runtime):
    send(stripe_event.event("payment_intent.succeeded", stripe_event.payment_intent(amount=60000), "evt_pay"))
    process()
    runtime.loyalty("default").adjust("cus_1", -500, "spent")
    send(stripe_event.event("charge.dispute.closed", stripe_event.dispute("won"), "evt_won"))
    process()
    assert balance(runtime, "cus_1") == 100  # a dispute won takes nothing
    send(stripe_event.event("charge.dispute.closed", stripe_event.dispute("lost"), "evt_lost"))
    process()
    loyalty = runtime.loyalty("default")
    assert loyalty.balance("cus_1").available == -500  # the program lets it run negative
    assert loyalty.doctor()["ok"]
