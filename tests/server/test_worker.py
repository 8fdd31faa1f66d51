"""Workers: every accepted delivery takes effect once, failures retry with backoff, and what
can never apply is dead-lettered, visible and retryable."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from loyalty_sdk.core.retry import backoff
from loyalty_sdk.server import inbox
from loyalty_sdk.server.worker import Worker, WorkerOptions

from .conftest import SHOP, order_document


def rows(runtime, status=None):
    with runtime.db.connect() as conn:
        return inbox.listing(conn, status=status)


def show(runtime, delivery_id):
    with runtime.db.connect() as conn:
        return inbox.show(conn, delivery_id)


@pytest.fixture
def worker(runtime):
    return Worker(runtime, WorkerOptions(batch=10, max_attempts=3, backoff_base=10, backoff_cap=60), name="w1",
                  rng=random.Random(1))


def test_a_delivered_order_enrolls_the_customer_and_earns(runtime, push, worker):
    push("orders/paid", order_document("1001", customer="c1", amount="25.00", quantity=2), delivery="d-1")
    done = worker.drain()
    assert (done.claimed, done.done, done.dead) == (1, 1, 0)
    shop = runtime.loyalty(SHOP)
    balance = shop.balance("c1")
    # The default program: 1 point per dollar, pending for its return window.
    assert balance.available + balance.pending == 50
    [row] = rows(runtime)
    assert row["status"] == "done" and row["attempts"] == 1
    outcome = show(runtime, row["id"])["outcome"]
    assert outcome == [{"event": "order", "order_id": "1001", "member_id": shop.member("c1").id, "points": 50,
                        "pending": balance.pending == 50, "replayed": False, "enrolled": True}]


def test_two_deliveries_of_one_order_earn_once(runtime, push, worker):
    push("orders/paid", order_document("1001"), delivery="d-1")
    push("orders/paid", order_document("1001"), delivery="d-2")  # a retry with a new delivery id
    worker.drain()
    balance = runtime.loyalty(SHOP).balance("c1")
    assert balance.available + balance.pending == 50
    outcomes = [show(runtime, row["id"])["outcome"][0]["replayed"] for row in rows(runtime, "done")]
    assert sorted(outcomes) == [False, True]


def test_a_refund_before_its_order_waits_and_then_applies(runtime, push, worker, clock):
    refund = {"id": "r1", "order_id": "1001", "refunded_at": "2026-03-03T10:00:00Z",
              "lines": [{"line_id": "1001-1", "quantity": 1}]}
    push("refunds/create", refund, delivery="d-refund")
    first = worker.run_once()
    assert (first.claimed, first.retried) == (1, 1)
    [row] = rows(runtime)
    assert row["status"] == "pending" and row["attempts"] == 1
    assert "OrderNotFound" in row["last_error"]
    assert worker.run_once().claimed == 0  # not due yet: it backs off
    push("orders/paid", order_document("1001", quantity=2), delivery="d-order")
    worker.drain()
    clock.advance(seconds=10)  # past the first backoff (at most backoff_base)
    worker.drain()
    assert {row["status"] for row in rows(runtime)} == {"done"}
    balance = runtime.loyalty(SHOP).balance("c1")
    assert balance.available + balance.pending == 25  # 50 earned, half the line refunded


def test_a_payload_that_can_never_apply_is_dead_lettered_at_once(runtime, push, worker):
    bad = order_document("1001")
    bad["lines"][0]["unit_price"] = 25.5  # money as a JSON number
    push("orders/paid", bad, delivery="d-bad")
    result = worker.drain()
    assert (result.dead, result.retried) == (1, 0)
    [row] = rows(runtime, "dead")
    assert row["attempts"] == 1
    assert "unit_price" in row["last_error"]


def test_an_unknown_topic_is_dead_lettered_naming_it(runtime, push, worker):
    push("orders/teleported", order_document("1001"), delivery="d-x")
    worker.drain()
    [row] = rows(runtime, "dead")
    assert "orders/teleported" in row["last_error"]


def test_retry_brings_a_dead_delivery_back(runtime, push, worker, clock):
    refund = {"id": "r1", "order_id": "1001", "refunded_at": "2026-03-03T10:00:00Z",
              "lines": [{"line_id": "1001-1", "quantity": 1}]}
    push("refunds/create", refund, delivery="d-refund")
    for _ in range(3):  # max_attempts, each after its backoff
        worker.run_once()
        clock.advance(seconds=60)
    [row] = rows(runtime, "dead")
    assert row["attempts"] == 3
    push("orders/paid", order_document("1001"), delivery="d-order")
    assert inbox.retry(runtime.db, [row["id"]], clock()) == 1
    worker.drain()
    assert {row["status"] for row in rows(runtime)} == {"done"}
    assert show(runtime, row["id"])["attempts"] == 1


def test_a_claimed_delivery_of_a_dead_worker_is_taken_over_after_its_lease(runtime, push, clock):
    push("orders/paid", order_document("1001"), delivery="d-1")
    lease = timedelta(seconds=60)
    crashed = inbox.claim(runtime.db, "crashed-worker", 10, clock(), lease)
    assert len(crashed) == 1  # claimed, then the worker died before finishing
    survivor = Worker(runtime, WorkerOptions(lease=lease), name="w2")
    assert survivor.run_once().claimed == 0  # the lease still holds
    clock.advance(seconds=61)
    assert survivor.drain().done == 1
    balance = runtime.loyalty(SHOP).balance("c1")
    assert balance.available + balance.pending == 50
    [row] = rows(runtime)
    assert row["attempts"] == 2  # the crashed claim counted


def test_a_late_answer_of_a_worker_that_lost_its_lease_changes_nothing(runtime, push, clock):
    push("orders/paid", order_document("1001"), delivery="d-1")
    [slow] = inbox.claim(runtime.db, "slow-worker", 10, clock(), timedelta(seconds=60))
    clock.advance(seconds=61)
    Worker(runtime, name="w2").drain()
    inbox.fail(runtime.db, slow, "slow-worker", clock(), "timed out", retry_in=timedelta(seconds=5))
    [row] = rows(runtime)
    assert row["status"] == "done" and row["last_error"] is None


@pytest.mark.parametrize("attempts", [1, 2, 5, 12, 30])
def test_backoff_grows_exponentially_up_to_its_cap_with_jitter(attempts):
    rng = random.Random(attempts)
    waits = [backoff(attempts, 2.0, 600.0, rng).total_seconds() for _ in range(200)]
    ceiling = min(600.0, 2.0 * 2 ** (attempts - 1))
    assert all(0 <= wait <= ceiling for wait in waits)
    assert max(waits) > ceiling / 2  # spread over the range, not stuck at zero
    assert len(set(waits)) > 150  # jittered


def test_a_refund_just_ahead_of_its_order_in_one_batch_applies_without_waiting(runtime, push, worker):
    refund = {"id": "r1", "order_id": "1001", "refunded_at": "2026-03-03T10:00:00Z",
              "lines": [{"line_id": "1001-1", "quantity": 1}]}
    push("refunds/create", refund, delivery="d-refund")
    push("orders/paid", order_document("1001", quantity=2), delivery="d-order")
    result = worker.run_once()
    assert (result.claimed, result.done, result.retried) == (2, 2, 0)
    balance = runtime.loyalty(SHOP).balance("c1")
    assert balance.available + balance.pending == 25


def test_scrub_blanks_settled_deliveries_that_mention_a_customer(runtime, push, worker):
    push("orders/paid", order_document("1001", customer="c1", email="ada@example.com"), delivery="d-1")
    push("orders/paid", order_document("1002", customer="c2", email="bob@example.com"), delivery="d-2")
    worker.drain()
    push("orders/paid", order_document("1003", customer="c1", email="ada@example.com"), delivery="d-3")  # pending
    assert inbox.scrub(runtime.db, SHOP, ["ada@example.com"]) == 1
    with runtime.db.connect() as conn:
        bodies = {row["dedup_key"]: inbox.show(conn, row["id"])["body"] for row in inbox.listing(conn)}
    assert bodies["d-1"] == "{}"
    assert "bob@example.com" in bodies["d-2"]
    assert "ada@example.com" in bodies["d-3"]  # not processed yet: still needed
