"""Several OS processes on one PostgreSQL database, as ``loyalty serve`` and ``loyalty worker``
processes are in production: the ledger's promises hold across them.

Each worker process builds its own ``Loyalty`` on the same schema, waits at a barrier so the
calls really overlap, and reports what happened (never raising: unexpected errors are reported
as text, so the parent can show them).
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from loyalty_sdk.core import migrate
from loyalty_sdk.core.errors import InsufficientPoints
from loyalty_sdk.core.models import Activity, MemberRef
from loyalty_sdk.core.storage import open_engine, tier_changes
from loyalty_sdk.facade import Loyalty
from loyalty_sdk.testing import Clock

from . import T0, assert_books_ok, base_program, order, refund

pytestmark = pytest.mark.postgres

PROCESSES = 6
TIMEOUT = 120
DAY = timedelta(days=1)


def concurrency_program() -> dict[str, Any]:
    return base_program(earn={"pending_days": 0}, expiry={"mode": "none"})


# -- what each worker process runs (module level, so 'spawn' can import it) -------------------


def _open(url: str, program: Any) -> Loyalty:
    return Loyalty(url, program, clock=Clock(T0), entry_points=False, migrate_schema=False)


def _worker(task: str, url: str, program: Any, args: tuple, barrier: Any) -> dict[str, Any]:
    """Open the books in this process, wait until every worker is ready, then run ``task``.
    Unexpected errors come back as text, so the parent can show them."""
    outcome: dict[str, Any] = {"errors": []}
    loyalty = None
    try:
        loyalty = _open(url, program)
        barrier.wait(timeout=TIMEOUT)
        outcome.update(TASKS[task](loyalty, *args))
    except Exception:  # noqa: BLE001
        outcome["errors"].append(traceback.format_exc())
    finally:
        if loyalty is not None:
            loyalty.close()
    return outcome


def _redeem(loyalty: Loyalty, customer: str, reward: str, attempts: int) -> dict[str, Any]:
    done: dict[str, Any] = {"ok": 0, "refused": 0, "errors": []}
    for _ in range(attempts):
        try:
            loyalty.redeem(customer, reward)
            done["ok"] += 1
        except InsufficientPoints:
            done["refused"] += 1
        except Exception:  # noqa: BLE001
            done["errors"].append(traceback.format_exc())
    return done


def _redeem_with_key(loyalty: Loyalty, customer: str, reward: str, key: str) -> dict[str, Any]:
    result = loyalty.redeem(customer, reward, idempotency_key=key)
    return {"replayed": result.replayed, "redemption": result.id, "points": result.points}


def _record_orders(loyalty: Loyalty, orders: list) -> dict[str, Any]:
    results = [loyalty.record_order(o) for o in orders]
    return {"results": [(r.order_id, r.points, r.replayed, r.transaction_id) for r in results]}


def _record_activity(loyalty: Loyalty, activity: Any) -> dict[str, Any]:
    posted = loyalty.record_activity(activity)
    return {"points": posted.points if posted is not None and not posted.replayed else 0}


def _refund(loyalty: Loyalty, event: Any) -> dict[str, Any]:
    result = loyalty.record_refund(event)
    return {"points": result.points, "written_off": result.written_off}


def _run_jobs(loyalty: Loyalty, as_of: Any) -> dict[str, Any]:
    report = loyalty.run_jobs(as_of)
    return {"report": report.as_dict()}


def _upgrade(url: str, barrier: Any) -> dict[str, Any]:
    """Open an engine on an empty schema, wait for the others, then bring it up to date, as
    every process of a deploy does on start."""
    outcome: dict[str, Any] = {"errors": []}
    engine = open_engine(url)
    try:
        barrier.wait(timeout=TIMEOUT)
        outcome["revision"] = migrate.upgrade(engine)
    except Exception:  # noqa: BLE001
        outcome["errors"].append(traceback.format_exc())
    finally:
        engine.dispose()
    return outcome


TASKS = {
    "redeem": _redeem,
    "redeem_with_key": _redeem_with_key,
    "record_orders": _record_orders,
    "record_activity": _record_activity,
    "refund": _refund,
    "run_jobs": _run_jobs,
}


@pytest.fixture(scope="module")
def workers(postgres_server: str) -> Iterator[tuple[ProcessPoolExecutor, Any]]:
    """Worker processes started with 'spawn' (no state inherited from this one), kept for the
    module, and a manager to make barriers they can all wait at."""
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(PROCESSES, mp_context=context) as pool:
        # Start every worker now, so the first test does not time their start-up.
        list(pool.map(abs, range(PROCESSES)))
        yield pool, manager


def run_concurrently(workers: Any, url: str, program: Any, task: str, per_process: list[tuple]) -> list[dict]:
    """Run ``task`` once per argument tuple, each in its own worker process, all released at once."""
    pool, manager = workers
    assert len(per_process) <= PROCESSES
    barrier = manager.Barrier(len(per_process))
    futures = [pool.submit(_worker, task, url, program, args, barrier) for args in per_process]
    outcomes = [future.result(timeout=TIMEOUT) for future in futures]
    errors = [error for outcome in outcomes for error in outcome["errors"]]
    assert not errors, "\n".join(errors)
    return outcomes


@pytest.fixture
def shop(postgres_url, clock):
    loyalty = Loyalty(postgres_url, concurrency_program(), clock=clock, entry_points=False)
    loyalty.enroll("c1")
    yield loyalty
    loyalty.close()


# -- the tests ---------------------------------------------------------------------------------


def test_processes_starting_together_on_an_empty_database_upgrade_it_once(postgres_url, workers):
    pool, manager = workers
    barrier = manager.Barrier(PROCESSES)
    outcomes = [future.result(timeout=TIMEOUT) for future in
                [pool.submit(_upgrade, postgres_url, barrier) for _ in range(PROCESSES)]]
    errors = [error for outcome in outcomes for error in outcome["errors"]]
    assert not errors, "\n".join(errors)
    assert [outcome["revision"] for outcome in outcomes] == [migrate.head()] * PROCESSES
    # One set of tables, usable at once.
    with Loyalty(postgres_url, concurrency_program(), entry_points=False) as loyalty:
        loyalty.enroll("c1")
        assert loyalty.doctor()["ok"]


def test_concurrent_redemptions_never_overdraw(shop, postgres_url, workers):
    shop.adjust("c1", 1050, "starting balance")
    # 6 processes x 4 attempts at 100 points = 2400 asked of 1050: exactly 10 can succeed.
    outcomes = run_concurrently(workers, postgres_url, concurrency_program(), "redeem",
                                [("c1", "coffee", 4)] * PROCESSES)
    successes = sum(o["ok"] for o in outcomes)
    refused = sum(o["refused"] for o in outcomes)
    final = shop.balance("c1").available
    assert final >= 0
    assert successes * 100 == 1050 - final
    assert successes * 100 <= 1050
    # No redemption failed for any reason but a real shortage.
    assert (successes, refused, final) == (10, 14, 50)
    assert shop.summary()["points"]["redeemed"] == 1000
    assert_books_ok(shop)


def test_one_redemption_delivered_by_several_processes_is_spent_once(shop, postgres_url, workers):
    shop.adjust("c1", 1000, "starting balance")
    outcomes = run_concurrently(workers, postgres_url, concurrency_program(), "redeem_with_key",
                                [("c1", "5-off", "checkout-42")] * PROCESSES)
    assert sum(not o["replayed"] for o in outcomes) == 1
    assert len({o["redemption"] for o in outcomes}) == 1
    assert shop.balance("c1").available == 500
    assert_books_ok(shop)


def test_the_same_order_delivered_concurrently_is_credited_once(shop, postgres_url, workers):
    same = order("o1", [("a", "123.45", 2)])  # 246.90 -> 246 points
    outcomes = run_concurrently(workers, postgres_url, concurrency_program(), "record_orders", [([same],)] * PROCESSES)
    results = [o["results"][0] for o in outcomes]
    assert sum(not replayed for _, _, replayed, _ in results) == 1
    assert {(points, txn) for _, points, _, txn in results} == {(246, results[0][3])}
    assert shop.balance("c1").available == 246
    assert shop.summary()["orders"] == 1
    assert_books_ok(shop)


def test_concurrent_distinct_orders_for_one_member_all_land(shop, postgres_url, workers):
    # Process p sends orders p-0..p-4 of $(10 + p).00 each.
    batches = [([order(f"p{p}-{n}", [("a", f"{10 + p}.00", 1)]) for n in range(5)],) for p in range(PROCESSES)]
    outcomes = run_concurrently(workers, postgres_url, concurrency_program(), "record_orders", batches)
    results = [r for o in outcomes for r in o["results"]]
    assert len(results) == 30 and not any(replayed for _, _, replayed, _ in results)
    expected = sum(5 * (10 + p) for p in range(PROCESSES))  # 5 x (10 + 11 + ... + 15) = 375
    assert shop.balance("c1").available == expected == 375
    assert shop.summary()["orders"] == 30
    assert_books_ok(shop)


def test_concurrent_refunds_of_one_order_never_take_back_more_than_it_earned(shop, postgres_url, workers):
    shop.record_order(order("o1", [("a", "10.00", 12)]))  # 120 points
    shop.adjust("c1", 1000, "other points the refunds must not reach")
    # Every process refunds the whole order, each under its own refund id.
    events = [(refund(f"r{p}", "o1", T0 + DAY, {"a": 12}),) for p in range(PROCESSES)]
    outcomes = run_concurrently(workers, postgres_url, concurrency_program(), "refund", events)
    assert sorted(o["points"] for o in outcomes) == [0] * (PROCESSES - 1) + [120]
    assert shop.balance("c1").available == 1000
    assert shop.summary()["points"]["clawed_back"] == 120
    assert_books_ok(shop)


def test_jobs_run_by_several_workers_at_once_post_each_effect_once(postgres_url, workers, clock):
    program = base_program(expiry={"mode": "lot", "days": 30})
    shop = Loyalty(postgres_url, program, clock=clock, entry_points=False)
    for n in range(4):
        shop.enroll(f"c{n}")
        shop.record_order(order(f"o{n}", [("a", f"{200 * (n + 1)}.00", 1)], customer=f"c{n}"))
    # 200 + 400 + 600 + 800 = 2000 points pending; at T0 + 20 days they are released and their
    # owners re-tiered (c2 and c3 reach silver at 500).
    outcomes = run_concurrently(workers, postgres_url, program, "run_jobs", [(T0 + 20 * DAY,)] * PROCESSES)
    reports = [o["report"] for o in outcomes]
    assert sum(r["released_points"] for r in reports) == 2000
    assert [shop.tier(f"c{n}") for n in range(4)] == ["bronze", "bronze", "silver", "silver"]
    with shop.db.connect() as conn:
        upgrades = Counter(conn.execute(select(tier_changes.c.member_id).where(tier_changes.c.to_tier == "silver"))
                           .scalars())
        assert conn.execute(select(func.count()).select_from(tier_changes)).scalar_one() == 4 + 2
    assert sorted(upgrades.values()) == [1, 1]
    # Then the lots expire (30 days after earning), each once.
    outcomes = run_concurrently(workers, postgres_url, program, "run_jobs", [(T0 + 31 * DAY,)] * PROCESSES)
    assert sum(o["report"]["expired_points"] for o in outcomes) == 2000
    assert shop.summary()["points"]["outstanding"] == 0
    assert_books_ok(shop)
    shop.close()


def test_activity_limits_hold_across_processes(shop, postgres_url, workers):
    # Reviews earn 50 points, once a day; six processes report six reviews of the same day.
    reviews = [(Activity("review", MemberRef("c1"), T0, activity_id=f"review-{p}"),) for p in range(PROCESSES)]
    outcomes = run_concurrently(workers, postgres_url, concurrency_program(), "record_activity", reviews)
    assert sorted(o["points"] for o in outcomes) == [0] * (PROCESSES - 1) + [50]
    assert shop.balance("c1").available == 50
    assert_books_ok(shop)


def _enroll(loyalty: Loyalty, customer_id: str | None, email: str | None) -> dict[str, Any]:
    from loyalty_sdk.core.errors import MemberExists

    try:
        loyalty.enroll(customer_id, email=email)
    except MemberExists:
        return {"enrolled": False}
    return {"enrolled": True}


TASKS["enroll"] = _enroll


@pytest.mark.parametrize(("customer_id", "email"), [("c7", None), (None, "zoe@example.com")])
def test_a_customer_enrolled_concurrently_becomes_one_member(shop, postgres_url, workers, customer_id, email):
    outcomes = run_concurrently(workers, postgres_url, concurrency_program(), "enroll",
                                [(customer_id, email)] * PROCESSES)
    # One process enrolls; the others are told the member exists (never an unexplained error).
    assert sorted(o["enrolled"] for o in outcomes) == [False] * (PROCESSES - 1) + [True]
    assert shop.summary()["members"] == 2  # c1 and the new one


def _redeem_or_refund(loyalty: Loyalty, what: str, argument: Any) -> dict[str, Any]:
    if what == "redeem":
        try:
            loyalty.redeem("c1", argument)
        except InsufficientPoints:
            return {"what": what, "ok": False}
        return {"what": what, "ok": True}
    result = loyalty.record_refund(argument)
    return {"what": what, "ok": True, "points": result.points}


TASKS["redeem_or_refund"] = _redeem_or_refund


def test_a_refund_racing_a_redemption_leaves_consistent_books(shop, postgres_url, workers):
    shop.record_order(order("o1", [("a", "500.00", 1)]))  # 500 points
    refund_all = refund("r1", "o1", T0 + DAY, {"a": 1})
    outcomes = run_concurrently(workers, postgres_url, concurrency_program(), "redeem_or_refund",
                                [("redeem", "5-off"), ("refund", refund_all)])
    redeemed = next(o["ok"] for o in outcomes if o["what"] == "redeem")
    # Redeemed first: the refund takes the 500 into a negative balance (policy "negative").
    # Refunded first: nothing is left to redeem.
    assert shop.balance("c1").available == (-500 if redeemed else 0)
    assert next(o["points"] for o in outcomes if o["what"] == "refund") == 500
    assert_books_ok(shop)
