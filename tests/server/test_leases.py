"""Leases and the scheduled jobs: one process runs a shop's jobs at a time, however many run."""

from __future__ import annotations

from datetime import timedelta

from loyalty_sdk.server import leases
from loyalty_sdk.server.scheduler import Scheduler

from .conftest import SHOP, order_document

MINUTE = timedelta(minutes=1)


def test_a_lease_has_one_holder_until_it_runs_out(runtime, clock):
    assert leases.acquire(runtime.db, "jobs:x", "a", clock(), MINUTE)
    assert not leases.acquire(runtime.db, "jobs:x", "b", clock(), MINUTE)
    assert leases.acquire(runtime.db, "jobs:x", "a", clock() + timedelta(seconds=30), MINUTE)  # renewed
    assert not leases.acquire(runtime.db, "jobs:x", "b", clock() + timedelta(seconds=80), MINUTE)
    assert leases.acquire(runtime.db, "jobs:x", "b", clock() + timedelta(seconds=91), MINUTE)  # lapsed
    assert not leases.acquire(runtime.db, "jobs:x", "a", clock() + timedelta(seconds=92), MINUTE)


def test_a_released_lease_is_free_at_once(runtime, clock):
    assert leases.acquire(runtime.db, "jobs:x", "a", clock(), MINUTE)
    leases.release(runtime.db, "jobs:x", "b")  # not b's to give up
    assert not leases.acquire(runtime.db, "jobs:x", "b", clock(), MINUTE)
    leases.release(runtime.db, "jobs:x", "a")
    assert leases.acquire(runtime.db, "jobs:x", "b", clock(), MINUTE)


def test_two_schedulers_never_both_run_a_shops_jobs(runtime, clock):
    first, second = Scheduler(runtime, MINUTE, name="one"), Scheduler(runtime, MINUTE, name="two")
    assert first.run_once()[SHOP] is True
    assert second.run_once()[SHOP] is False
    clock.advance(minutes=1)
    assert first.run_once()[SHOP] is True  # the holder keeps its shops
    assert second.run_once()[SHOP] is False
    clock.advance(minutes=3)  # the first process is gone: its lease lapses
    assert second.run_once()[SHOP] is True


def test_the_scheduler_releases_pending_points_when_their_window_passes(runtime, push, clock):
    from loyalty_sdk.server.worker import Worker

    push("orders/paid", order_document("1001", amount="25.00", quantity=2, at=clock().isoformat()), delivery="d-1")
    Worker(runtime, name="w").drain()
    shop = runtime.loyalty(SHOP)
    assert (shop.balance("c1").pending, shop.balance("c1").available) == (50, 0)
    clock.advance(days=15)  # the default program's return window is 14 days
    Scheduler(runtime, MINUTE, name="one").run_once()
    assert (shop.balance("c1").pending, shop.balance("c1").available) == (0, 50)


def test_a_process_sees_another_processes_change_to_a_shop_within_half_a_minute(runtime, monkeypatch):
    from sqlalchemy import update

    from loyalty_sdk.core.storage import shops
    from loyalty_sdk.server import runtime as runtime_module

    assert runtime.shop(SHOP).settings == {}
    with runtime.db.begin() as conn:  # another process uninstalls the shop
        conn.execute(update(shops).where(shops.c.id == SHOP).values(settings={"uninstalled_at": "2026-03-02"}))
    assert runtime.shop(SHOP).settings == {}  # still trusted for a while
    later = runtime_module.time.monotonic() + 31
    monkeypatch.setattr(runtime_module.time, "monotonic", lambda: later)
    assert runtime.shop(SHOP).settings == {"uninstalled_at": "2026-03-02"}
