"""A chargeback opened keeps the payment's pending points pending (the program's
``hold_disputed``); won, they are released; lost, they are taken back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import stripe_events as stripe_event
from stripe_program import PROGRAM

PLACED = datetime.fromtimestamp(stripe_event.CREATED, UTC)
AFTER_RETURN_WINDOW = PLACED + timedelta(days=15)


@pytest.fixture
def program(request) -> dict:
    hold = getattr(request, "param", True)
    return {**PROGRAM, "earn": {**PROGRAM["earn"], "pending_days": 14, "hold_disputed": hold}}


@pytest.fixture
def paid(send, process, runtime):
    """cus_1 paid 100.00: 100 points pending for 14 days."""
    send(stripe_event.event("payment_intent.succeeded", stripe_event.payment_intent(amount=10000), "evt_pay"))
    process()
    return runtime.loyalty("default")


def test_disputed_points_stay_pending_past_their_date_until_the_dispute_is_won(paid, send, process):
    send(stripe_event.event("charge.dispute.created", stripe_event.dispute("needs_response"), "evt_open"))
    process()
    paid.run_jobs(AFTER_RETURN_WINDOW)
    assert (paid.balance("cus_1").pending, paid.balance("cus_1").available) == (100, 0)
    send(stripe_event.event("charge.dispute.closed", stripe_event.dispute("won"), "evt_won"))
    process()
    paid.run_jobs(AFTER_RETURN_WINDOW + timedelta(minutes=1))
    assert (paid.balance("cus_1").pending, paid.balance("cus_1").available) == (0, 100)
    assert paid.doctor()["ok"]


def test_a_dispute_lost_while_held_takes_the_points_back(paid, send, process):
    send(stripe_event.event("charge.dispute.created", stripe_event.dispute("needs_response"), "evt_open"))
    send(stripe_event.event("charge.dispute.closed", stripe_event.dispute("lost"), "evt_lost"))
    process()
    paid.run_jobs(AFTER_RETURN_WINDOW)
    assert (paid.balance("cus_1").pending, paid.balance("cus_1").available) == (0, 0)
    assert "dispute dp_1 lost" in paid.history("cus_1")[0].reason
    assert paid.doctor()["ok"]


@pytest.mark.parametrize("program", [False], indirect=True)
def test_a_program_that_does_not_hold_releases_disputed_points_on_their_date(paid, send, process):
    send(stripe_event.event("charge.dispute.created", stripe_event.dispute("needs_response"), "evt_open"))
    process()
    paid.run_jobs(AFTER_RETURN_WINDOW)
    assert paid.balance("cus_1").available == 100


def test_a_dispute_reported_before_its_payment_holds_once_the_payment_arrives(send, process, runtime, clock):
    send(stripe_event.event("charge.dispute.created", stripe_event.dispute("needs_response"), "evt_open"))
    process()  # the payment is unknown yet: the delivery waits and is tried again
    send(stripe_event.event("payment_intent.succeeded", stripe_event.payment_intent(amount=10000), "evt_pay"))
    process()
    clock.advance(minutes=5)  # past the dispute's backoff
    assert process().done == 1
    loyalty = runtime.loyalty("default")
    loyalty.run_jobs(AFTER_RETURN_WINDOW)
    assert loyalty.balance("cus_1").pending == 100
