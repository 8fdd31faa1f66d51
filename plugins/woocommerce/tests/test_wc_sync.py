"""Nothing lost: the sync pulls what webhooks missed through the same inbox and dedup keys,
page by page, past a page that fails once, and the scheduler runs it on its own."""

from __future__ import annotations

from datetime import datetime

import wc_payloads as wc
from sqlalchemy import func, select
from wc_harness import SHOP, balance

from loyalty_sdk.core.storage import inbox
from loyalty_sdk.server.scheduler import Scheduler

SINCE = datetime.fromisoformat("2026-03-01T00:00:00+00:00")


def orders_in_store(store, count, start=2000, modified=lambda n: f"2026-03-02T1{n % 10}:00:{n:02d}"):
    for n in range(count):
        store.put(wc.order(order_id=start + n, customer_id=start + n, email=f"c{start + n}@example.com",
                           status="completed", modified=modified(n), coupons=()))


def deliveries(runtime) -> int:
    with runtime.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(inbox)).scalar_one()


def test_a_store_whose_webhook_was_disabled_for_a_day_loses_no_points(store, pull, process, runtime, deliver):
    orders_in_store(store, 7)
    report = pull(since=SINCE, per_page=3)
    assert (report.orders, report.stored, report.error) == (7, 7, None)
    process()
    assert [balance(runtime, str(2000 + n)) for n in range(7)] == [54] * 7
    # The same changes again, by webhook (re-enabled) and by the next pull: applied once.
    assert deliver("order.updated", store.orders[2003]).json() == {"accepted": True, "duplicate": True}
    again = pull()
    assert again.stored == 0 and again.cursor == "2026-03-02T16:00:06"
    process()
    assert balance(runtime, "2003") == 54 and runtime.loyalty(SHOP).doctor()["ok"]


def test_a_page_that_fails_once_is_tried_again_and_nothing_is_missed(store, pull, process, runtime):
    orders_in_store(store, 5)
    # The second page (the first after 2026-03-02): a PHP fatal error, once.
    store.fail("GET", "orders", 500, when=lambda query: query.get("modified_after", "") > "2026-03-02")
    report = pull(since=SINCE, per_page=2)
    assert (report.orders, report.stored, report.error) == (5, 5, None)
    pages = [query["page"] for method, route, query in store.requests if route == "orders"]
    assert len(pages) == report.pages + 1  # one page asked for twice
    process()
    assert sum(balance(runtime, str(2000 + n)) for n in range(5)) == 5 * 54


def test_a_page_that_keeps_failing_stops_the_pull_where_it_got_to(store, pull, runtime):
    orders_in_store(store, 4)
    for _ in range(3):
        store.fail("GET", "orders", 503, when=lambda query: "T11" in query.get("modified_after", ""))
    report = pull(since=SINCE, per_page=2)
    assert report.error and "HTTP 503" in report.error and report.stored == 2
    assert report.cursor == "2026-03-02T11:00:01"  # the newest change it stored
    resumed = pull()
    assert (resumed.stored, resumed.error) == (2, None) and deliveries(runtime) == 4


def test_many_changes_in_one_second_are_all_pulled(store, pull):
    orders_in_store(store, 5, modified=lambda n: "2026-03-02T12:00:00")
    report = pull(since=SINCE, per_page=2)
    assert (report.orders >= 5, report.stored) == (True, 5)


def test_connecting_a_store_does_not_award_its_past_orders(store, pull, runtime, clock):
    orders_in_store(store, 3)
    first = pull()
    assert first.stored == 0 and first.cursor == "2026-03-06T12:00:00"
    store.put(wc.order(order_id=2100, status="processing", modified="2026-03-06T12:30:00"))
    assert pull().stored == 1


def test_the_scheduler_pulls_each_store_on_its_own_every_few_minutes(store, runtime, clock, process):
    orders_in_store(store, 2)
    from loyalty_woocommerce.connection import save_settings

    save_settings(runtime.db, SHOP, {"sync_cursor": "2026-03-01T00:00:00"})
    runtime.forget(SHOP)
    Scheduler(runtime, name="scheduler-a").run_once()
    process()
    assert balance(runtime, "2000") == 54 and balance(runtime, "2001") == 54
    store.put(wc.order(order_id=2200, customer_id=2200, email="c2200@example.com", modified="2026-03-06T12:01:00"))
    clock.advance(minutes=5)
    Scheduler(runtime, name="scheduler-a").run_once()
    assert deliveries(runtime) == 2  # not due yet
    clock.advance(minutes=11)
    Scheduler(runtime, name="scheduler-a").run_once()
    process()
    assert balance(runtime, "2200") == 54
