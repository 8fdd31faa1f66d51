"""The ledger's own promises, read straight from its tables: double entry, append-only, integer
points, idempotency keys unique in the database, balances and lots materialized with their
entries, who/why/when on every transaction, and shops kept apart."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from loyalty_sdk.core.ledger import stored
from loyalty_sdk.core.program import program_from_mapping
from loyalty_sdk.core.storage import (
    MEMBER_ACCOUNTS,
    PROGRAM_ACCOUNTS,
    entries,
    lot_draws,
    lots,
    members,
    orders,
    outbox,
    transactions,
)

from . import T0, assert_books_ok, base_program, cancellation, order, refund, spent_member

DAY = timedelta(days=1)



@pytest.fixture
def history_of_everything(books, clock):
    books.enroll("c1")
    books.enroll("c2")
    books.record_order(order("o1", [("a", "100.00", 3), ("b", "50.00", 2)]))  # 400
    books.record_order(order("o2", [("a", "80.00", 1)], customer="c2"))  # 80
    books.record_order(order("o3", [("a", "20.00", 1)], customer="c2", at=T0 + DAY))  # 20, cancelled later
    clock.advance(days=15)
    books.run_jobs(clock.now)
    books.redeem("c1", "pay", points=300)
    books.adjust("c1", 25, "birthday goodwill")
    books.adjust("c2", -30, "duplicate points")
    books.record_refund(refund("r1", "o1", clock.now, {"a": 1}))  # 100 back: 400-300+25-100 = 25
    books.record_cancellation(cancellation("o3", clock.now))
    clock.advance(days=200)
    books.run_jobs(clock.now)  # everything left expires
    return books


def all_rows(loyalty, table):
    with loyalty.db.connect() as conn:
        return [tuple(row) for row in conn.execute(select(table).order_by(table.c.id))]


def test_every_transaction_balances_to_zero(history_of_everything):
    books = history_of_everything
    with books.db.connect() as conn:
        per_transaction = conn.execute(
            select(entries.c.transaction_id, func.sum(entries.c.amount)).group_by(entries.c.transaction_id)
        ).all()
        accounts = set(conn.execute(select(entries.c.account).distinct()).scalars())
        kinds = set(conn.execute(select(transactions.c.kind).distinct()).scalars())
    assert per_transaction and all(total == 0 for _, total in per_transaction)
    assert accounts <= set(MEMBER_ACCOUNTS) | set(PROGRAM_ACCOUNTS)
    assert {"earn", "release", "redeem", "adjust", "clawback", "cancel", "expire"} <= kinds
    assert_books_ok(books)


def test_program_totals_are_derived_from_the_entries(history_of_everything):
    points = history_of_everything.summary()["points"]
    # Issued 400 + 80 + 20 = 500; redeemed 300; adjusted +25 - 30 = -5; clawed back 100 (o1) + 20 (o3);
    # everything else expired: 500 - 300 - 5 - 120 = 75.
    assert points == {"issued": 500, "redeemed": 300, "expired": 75, "clawed_back": 120, "adjusted": -5,
                      "outstanding": 0, "available": 0, "pending": 0}


def test_points_and_money_are_stored_as_integers(history_of_everything):
    books = history_of_everything
    for table, column in ((entries, "amount"), (transactions, "points"), (lots, "remaining"),
                          (members, "available"), (orders, "gross_minor")):
        with books.db.connect() as conn:
            values = conn.execute(select(table.c[column])).scalars().all()
        assert values and all(type(value) is int for value in values), (table.name, column)
    with books.db.connect() as conn:
        assert conn.execute(select(orders.c.gross_minor).where(orders.c.order_id == "o1")).scalar_one() == 40000


def test_the_ledger_is_append_only(books, clock):
    books.enroll("c1")
    books.record_order(order("o1", [("a", "100.00", 3)]))
    clock.advance(days=14)
    books.run_jobs(clock.now)
    books.redeem("c1", "coffee")
    before = {table.name: all_rows(books, table) for table in (transactions, entries, lot_draws)}
    # Corrections, clawbacks, cancellations and expiry are new rows; nothing earlier changes.
    books.record_refund(refund("r1", "o1", clock.now, {"a": 1}))
    books.adjust("c1", 5, "sorry")
    books.record_cancellation(cancellation("o1", clock.now))
    clock.advance(days=300)
    books.run_jobs(clock.now)
    for table in (transactions, entries, lot_draws):
        after = all_rows(books, table)
        assert after[: len(before[table.name])] == before[table.name], table.name
        assert len(after) > len(before[table.name])
    assert_books_ok(books)


def test_idempotency_keys_are_unique_per_shop_in_the_database(books):
    member = books.enroll("c1")
    books.record_order(order("o1"))
    row = {"member_id": member.id, "idempotency_key": "order:o1:earn", "payload_hash": "x", "kind": "earn",
           "points": 0, "reason": "duplicate", "cause": {}, "detail": {}, "event_at": T0, "recorded_at": T0,
           "program_version": "v", "tier_points": 0, "tier_spend_minor": 0, "tier_orders": 0, "tier_at": T0}
    with pytest.raises(IntegrityError):
        with books.db.begin() as conn:
            conn.execute(insert(transactions), {**row, "shop_id": books.shop_id})
    with books.db.begin() as conn:  # the same key in another shop is another key
        conn.execute(insert(transactions), {**row, "shop_id": "another-shop"})


def test_each_member_balance_equals_its_entries_and_its_lots(history_of_everything, clock):
    books = history_of_everything
    books.record_order(order("o4", [("a", "33.00", 1)], at=clock.now))  # 33 pending
    books.adjust("c2", 40, "top-up")  # 40 available
    with books.db.connect() as conn:
        for member in conn.execute(select(members)).all():
            for account in ("available", "pending"):
                total = conn.execute(select(func.coalesce(func.sum(entries.c.amount), 0)).where(
                    entries.c.member_id == member.id, entries.c.account == account)).scalar_one()
                in_lots = conn.execute(select(func.coalesce(func.sum(lots.c.remaining), 0)).where(
                    lots.c.member_id == member.id, lots.c.status == account)).scalar_one()
                assert total == getattr(member, account) == in_lots, (member.customer_id, account)
    assert (books.balance("c1").pending, books.balance("c2").available) == (33, 40)


def test_every_transaction_says_who_why_when_and_under_which_program(books, clock):
    books.enroll("c1")
    placed = T0 - 2 * DAY  # a late webhook: the order happened two days before it was recorded
    books.record_order(order("o1", [("a", "10.00", 1)], at=placed))
    books.adjust("c1", 5, "apology", actor="agent-7")
    version = program_from_mapping(base_program()).version
    with books.db.connect() as conn:
        rows = {r.kind: r for r in conn.execute(select(transactions))}
    earn, adjust = rows["earn"], rows["adjust"]
    assert earn.program_version == adjust.program_version == version
    assert earn.reason and earn.cause["rules"] == ["earn.spend"] and earn.cause["source"] == "custom"
    assert adjust.cause == {"actor": "agent-7", "reason": "apology"}
    [earn_line] = [line for line in books.history("c1") if line.kind == "earn"]
    assert earn_line.at == placed  # event time...
    with books.db.connect() as conn:
        recorded = conn.execute(select(transactions.c.recorded_at).where(transactions.c.kind == "earn")).scalar_one()
    assert stored(recorded) == T0  # ...and recorded time


def test_every_posting_queues_an_event_in_the_same_transaction(history_of_everything):
    books = history_of_everything
    with books.db.connect() as conn:
        moved = conn.execute(select(func.count(func.distinct(entries.c.transaction_id)))).scalar_one()
        events = conn.execute(select(func.count()).select_from(outbox)
                              .where(outbox.c.kind == "points_posted")).scalar_one()
    assert events == moved


def test_shops_on_one_database_are_kept_apart(loyalty_at, database_url):
    north = loyalty_at(database_url, shop="north.example")
    south = loyalty_at(database_url, shop="south.example")
    north.enroll("c1")
    south.enroll("c1")
    # The same customer id and the same order id in two shops are two members and two orders.
    assert north.record_order(order("o1", [("a", "10.00", 1)])).points == 10
    assert south.record_order(order("o1", [("a", "70.00", 1)])).points == 70
    assert (north.balance("c1").pending, south.balance("c1").pending) == (10, 70)
    assert [h.points for h in north.history("c1")] == [10]
    assert north.summary()["points"]["issued"] == 10 and south.summary()["points"]["issued"] == 70
    north.run_jobs(T0 + 14 * DAY)
    assert (north.balance("c1").available, south.balance("c1").available) == (10, 0)
    assert_books_ok(north)
    assert_books_ok(south)


def test_a_batch_posts_every_order_or_none(books):
    books.enroll("c1")
    books.enroll("c2")
    results = books.record_orders([order(f"o{n}", [("a", f"{n}.00", 1)], customer=("c1", "c2")[n % 2])
                                   for n in range(1, 21)])
    assert [r.points for r in results] == list(range(1, 21))
    # c2 has the odd orders: 1 + 3 + ... + 19 = 100; c1 the even ones: 2 + 4 + ... + 20 = 110.
    assert (books.balance("c1").pending, books.balance("c2").pending) == (110, 100)
    assert_books_ok(books)


def test_an_order_twice_in_one_batch_is_credited_once(books):
    books.enroll("c1")
    results = books.record_orders([order("o1", [("a", "30.00", 1)]), order("o1", [("a", "30.00", 1)])])
    assert [(r.points, r.replayed) for r in results] == [(30, False), (30, True)]
    assert results[0].transaction_id == results[1].transaction_id
    assert books.balance("c1").pending == 30
    assert_books_ok(books)


def test_a_batch_that_pays_down_a_negative_balance(loyalty_at):
    shop = loyalty_at(program=base_program(earn={"pending_days": 0}))
    spent_member(shop)
    shop.record_refund(refund("r1", "o1", T0, {"a": 1}))  # -100
    # 30 + 50 pay the debt down to -20; the last 60 leave 40 to spend.
    shop.record_orders([order("o2", [("a", "30.00", 1)]), order("o3", [("a", "50.00", 1)]),
                        order("o4", [("a", "60.00", 1)])])
    assert shop.balance("c1").available == 40
    assert [lot.remaining for lot in shop.lots("c1")] == [0, 0, 0, 40]
    assert_books_ok(shop)
