"""Checkout Sessions earn on their items (products, discounts; never tax or shipping), read
from Stripe when the event does not carry them; a session and its payment intent credit once,
and the same points whichever of their events arrives first."""

from __future__ import annotations

import pytest
import stripe_events as stripe_event
from sqlalchemy import select
from stripe_program import PROGRAM

from loyalty_sdk.core.errors import MemberNotFound
from loyalty_sdk.core.storage import inbox as inbox_table

COFFEE = {"id": "prod_coffee", "object": "product", "name": "House blend", "metadata": {"loyalty_collections": "coffee"}}


@pytest.fixture
def program() -> dict:
    # Triple points on the coffee collection; the mug earns the base rate.
    return {**PROGRAM, "campaigns": [{"id": "coffee", "multiplier": "3", "collections": ["coffee"]}]}


def points(runtime, ref: str = "cus_1") -> int:
    try:
        found = runtime.loyalty("default").balance(ref)
    except MemberNotFound:
        return 0
    return found.available + found.pending


def items() -> list[dict]:
    return [stripe_event.checkout_line_item("li_coffee", 2000, 2, product=COFFEE),   # 2 x 10.00 coffee
            stripe_event.checkout_line_item("li_mug", 1500, discount=500, tax=120)]  # 15.00 mug, 5.00 off, tax


def outcomes(runtime) -> list[dict]:
    with runtime.db.connect() as conn:
        return [row.outcome for row in conn.execute(select(inbox_table.c.outcome).order_by(inbox_table.c.id))]


def test_a_session_earns_on_its_items_with_their_products_rules(send, process, runtime):
    session = stripe_event.checkout_session(items=items(), shipping=800, expanded=True)
    send(stripe_event.event("checkout.session.completed", session))
    process()
    # Coffee 20.00 x 3 = 60; mug 15.00 - 5.00 = 10; tax 1.20 and shipping 8.00 earn nothing.
    assert points(runtime) == 70
    member = runtime.loyalty("default").member("cus_1")
    assert member.email == "jenny@example.com"


def test_items_are_read_from_stripe_when_the_event_has_none(send, process, runtime, api):
    api.session_items["cs_1"] = items()
    send(stripe_event.event("checkout.session.completed", stripe_event.checkout_session(items=items(), shipping=800)))
    process()
    assert points(runtime) == 70
    [(path, query)] = [read for read in api.reads if read[0].endswith("/line_items")]
    assert path == "/v1/checkout/sessions/cs_1/line_items" and query["expand[0]"] == ["data.price.product"]


def test_without_items_or_an_api_key_the_sessions_totals_earn(send, process, runtime):
    send(stripe_event.event("checkout.session.completed", stripe_event.checkout_session(items=items(), shipping=800)))
    process()
    assert points(runtime) == 30  # 35.00 of merchandise less 5.00 off: no product to triple


@pytest.mark.parametrize("first", ["session", "payment_intent"])
def test_a_session_and_its_payment_intent_earn_once_whichever_comes_first(send, process, runtime, api, first):
    api.sessions["pi_1"] = "cs_1"
    api.session_items["cs_1"] = items()
    session = stripe_event.event("checkout.session.completed",
                                 stripe_event.checkout_session(items=items(), shipping=800), "evt_cs")
    intent = stripe_event.event("payment_intent.succeeded", stripe_event.payment_intent(amount=3920), "evt_pi")
    for document in ([session, intent] if first == "session" else [intent, session]):
        send(document)
        process()
    assert points(runtime) == 70  # the session's items decide, not the arrival order
    loyalty = runtime.loyalty("default")
    assert [line.points for line in loyalty.history("cus_1")] == [70]


def test_without_an_api_key_the_first_report_of_a_payment_earns_and_the_second_is_a_replay(send, process, runtime):
    send(stripe_event.event("payment_intent.succeeded", stripe_event.payment_intent(amount=3920), "evt_pi"))
    send(stripe_event.event("checkout.session.completed",
                            stripe_event.checkout_session(items=items(), shipping=800, expanded=True), "evt_cs"))
    process()
    assert points(runtime) == 39  # the intent could not ask Stripe about its session
    assert [o[0]["replayed"] for o in outcomes(runtime)] == [False, True]  # no conflict, no dead letter


def test_a_delayed_payment_earns_when_it_succeeds_once(send, process, runtime):
    unpaid = stripe_event.checkout_session(items=items(), payment_status="unpaid", expanded=True)
    send(stripe_event.event("checkout.session.completed", unpaid, "evt_done"))
    process()
    assert points(runtime) == 0  # a bank debit still on its way
    paid = {**unpaid, "payment_status": "paid"}
    send(stripe_event.event("checkout.session.async_payment_succeeded", paid, "evt_paid"))
    send(stripe_event.event("checkout.session.async_payment_succeeded", paid, "evt_paid_again"))
    process()
    assert points(runtime) == 70


def test_a_subscription_session_leaves_the_earning_to_its_invoice(send, process, runtime):
    session = stripe_event.checkout_session(items=items(), mode="subscription", payment_intent=None, expanded=True)
    send(stripe_event.event("checkout.session.completed", session))
    process()
    assert points(runtime) == 0


def test_a_refund_of_a_checkout_payment_takes_back_from_its_items(send, process, runtime):
    send(stripe_event.event("checkout.session.completed",
                            stripe_event.checkout_session(items=items(), shipping=800, expanded=True), "evt_cs"))
    charge = stripe_event.charge(amount=3920)
    send(stripe_event.event("charge.refunded", stripe_event.refunded(charge, 3920), "evt_refund"))
    process()
    assert points(runtime) == 0
    assert runtime.loyalty("default").doctor()["ok"]
