"""``loyalty doctor``: re-derives every materialized figure from the entries and reports what
disagrees. Corruption is made here by hand, with raw SQL behind the SDK's back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select, text, update

from loyalty_sdk.core.storage import entries, lots, members, transactions

from . import T0, order, refund

DAY = timedelta(days=1)



@pytest.fixture
def shop(books):
    """Two members with earnings, a release, a redemption and a refund behind them."""
    books.enroll("c1")
    books.enroll("c2")
    books.record_order(order("o1", [("a", "300.00", 2)]))
    books.record_order(order("o2", [("a", "80.00", 1)], customer="c2"))
    books.run_jobs(T0 + 14 * DAY)
    books.redeem("c1", "5-off")
    books.record_refund(refund("r1", "o1", T0 + 15 * DAY, {"a": 1}))
    books.record_order(order("o3", [("a", "45.00", 1)], at=T0 + 16 * DAY))
    return books


def failing(report):
    return {name for name, check in report["checks"].items() if not check["ok"]}


def member_id(shop, ref):
    return shop.member(ref).id


def test_healthy_books_pass_every_check(shop):
    report = shop.doctor()
    assert report["ok"] is True
    assert set(report["checks"]) == {"transactions_balance", "books_balance", "member_balances", "lot_remainders",
                                     "lots_match_balances", "balance_bounds", "clawback_caps"}
    assert failing(report) == set()


def test_a_corrupted_balance_is_reported_with_the_member(shop):
    c1 = member_id(shop, "c1")
    # 600 earned, 500 redeemed, 300 refunded: -200; 45 pending.
    assert (shop.balance("c1").available, shop.balance("c1").pending) == (-200, 45)
    with shop.db.begin() as conn:
        conn.execute(update(members).where(members.c.id == c1).values(available=members.c.available + 7))
    report = shop.doctor()
    assert report["ok"] is False
    assert "member_balances" in failing(report)
    [problem] = report["checks"]["member_balances"]["problems"]
    assert problem["id"] == c1
    assert (problem["available"], problem["entries_available"]) == (-193, -200)


def test_a_corrupted_pending_balance_is_reported(shop):
    c2 = member_id(shop, "c2")
    with shop.db.begin() as conn:
        conn.execute(text("UPDATE members SET pending = pending + 5 WHERE id = :id"), {"id": c2})
    report = shop.doctor()
    assert {"member_balances", "lots_match_balances"} <= failing(report)
    assert report["checks"]["member_balances"]["problems"][0]["id"] == c2


def test_a_corrupted_lot_remainder_is_reported(shop):
    c2 = member_id(shop, "c2")
    with shop.db.begin() as conn:
        lot_id = conn.execute(select(lots.c.id).where(lots.c.member_id == c2)).scalar_one()
        conn.execute(update(lots).where(lots.c.id == lot_id).values(remaining=lots.c.remaining - 1))
    report = shop.doctor()
    assert {"lot_remainders", "lots_match_balances"} <= failing(report)
    assert report["checks"]["lot_remainders"]["problems"][0]["id"] == lot_id
    # Balances themselves still agree with the entries.
    assert "member_balances" not in failing(report)


def test_an_unbalanced_transaction_is_reported(shop):
    c1 = member_id(shop, "c1")
    with shop.db.begin() as conn:
        txn = conn.execute(select(transactions.c.id).where(transactions.c.kind == "redeem")).scalar_one()
        conn.execute(insert(entries), {"shop_id": shop.shop_id, "transaction_id": txn, "member_id": c1,
                                       "account": "redeemed", "amount": 3})
    report = shop.doctor()
    assert {"transactions_balance", "books_balance"} <= failing(report)
    assert report["checks"]["transactions_balance"]["problems"] == [{"transaction_id": txn, "sum": 3}]
    assert report["checks"]["books_balance"]["problems"] == [{"sum": 3}]


def test_a_balance_below_the_negative_bound_is_reported(shop):
    c1 = member_id(shop, "c1")
    with shop.db.begin() as conn:
        conn.execute(update(members).where(members.c.id == c1).values(available=-5000))
    assert "balance_bounds" in failing(shop.doctor())


def test_an_order_clawed_back_beyond_what_it_earned_is_reported(shop):
    c1 = member_id(shop, "c1")
    with shop.db.begin() as conn:
        conn.execute(update(transactions).where(transactions.c.kind == "clawback").values(points=-601))
    report = shop.doctor()
    assert "clawback_caps" in failing(report)
    assert report["checks"]["clawback_caps"]["problems"][0]["order_id"] == "o1"
    assert c1


def test_another_shop_on_the_same_database_is_not_affected(shop, loyalty_at, database_url):
    other = loyalty_at(database_url, shop="other-shop")
    other.enroll("c1")
    other.record_order(order("x1", [("a", "10.00", 1)]))
    with shop.db.begin() as conn:
        conn.execute(update(members).where(members.c.id == member_id(shop, "c1")).values(available=0))
    assert shop.doctor()["ok"] is False
    assert other.doctor()["ok"] is True
