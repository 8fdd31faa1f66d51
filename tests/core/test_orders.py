"""Orders earn, refunds and cancellations take back: through the facade, on every engine.

The test program earns 1 point per whole dollar (floored once per order) and holds points
pending for a 14-day return window. Expected figures are worked out by hand in the comments.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from loyalty_sdk.core.errors import IdempotencyConflict, InvalidInput, OrderNotFound
from loyalty_sdk.core.models import Refund, RefundLine
from loyalty_sdk.core.money import Money
from loyalty_sdk.core.program import program_from_mapping
from loyalty_sdk.core.storage import transactions

from . import T0, assert_books_ok, base_program, cancellation, order, refund, snapshot

DAY = timedelta(days=1)



@pytest.fixture
def shop(books):
    books.enroll("c1", email="ada@example.com")
    return books


def released(loyalty, *orders_, at=T0):
    """Record orders placed at ``at`` and run the jobs once their return window has passed."""
    results = [loyalty.record_order(o) for o in orders_]
    loyalty.run_jobs(at + 14 * DAY)
    return results


# -- earning ------------------------------------------------------------------------------------


def test_an_order_earns_pending_points_that_release_after_the_return_window(shop):
    # 3 x $10.00 + 1 x $25.50 = $55.50 -> floor(55.50) = 55 points, pending for 14 days.
    result = shop.record_order(order("o1", [("a", "10.00", 3), ("b", "25.50", 1)]))
    assert (result.points, result.pending, result.replayed) == (55, True, False)
    assert {(a.line_id, a.points) for a in result.awards} == {("a", 30), ("b", 25)}
    assert (shop.balance("c1").available, shop.balance("c1").pending) == (0, 55)

    # One day short of the window: nothing moves.
    assert shop.run_jobs(T0 + 13 * DAY).released == 0
    assert (shop.balance("c1").available, shop.balance("c1").pending) == (0, 55)

    # On day 14 the whole lot becomes available, once.
    report = shop.run_jobs(T0 + 14 * DAY)
    assert (report.released, report.released_points) == (1, 55)
    assert (shop.balance("c1").available, shop.balance("c1").pending) == (55, 0)
    assert shop.run_jobs(T0 + 20 * DAY).released == 0
    assert (shop.balance("c1").available, shop.balance("c1").pending) == (55, 0)
    [lot] = shop.lots("c1")
    assert (lot.points, lot.remaining, lot.status) == (55, 55, "available")
    assert lot.available_at == T0 + 14 * DAY
    assert lot.expires_at == T0 + 180 * DAY
    assert_books_ok(shop)


def test_points_are_available_at_once_without_a_return_window(loyalty_at):
    shop = loyalty_at(program=base_program(earn={"pending_days": 0}))
    shop.enroll("c1")
    # $19.99 -> 19 points, available immediately.
    result = shop.record_order(order("o1", [("a", "19.99", 1)]))
    assert (result.points, result.pending) == (19, False)
    assert (shop.balance("c1").available, shop.balance("c1").pending) == (19, 0)
    assert_books_ok(shop)


def test_orders_find_members_by_email(shop):
    result = shop.record_order(order("o1", [("a", "12.00", 1)], customer="ADA@example.com"))
    assert result.points == 12
    assert shop.balance("c1").pending == 12


def test_the_history_says_why_points_were_earned(shop):
    shop.record_order(order("o1", [("a", "40.00", 1)]))
    [line] = shop.history("c1")
    assert (line.kind, line.points, line.order_id) == ("earn", 40, "o1")
    assert "o1" in line.reason
    assert line.rules == ("earn.spend",)
    assert line.at == T0


def test_a_batch_of_orders_is_recorded_together(shop):
    # 10 + 20 + 30 = 60 points; the repeated o1 is a replay and earns nothing more.
    results = shop.record_orders([
        order("o1", [("a", "10.00", 1)]),
        order("o2", [("a", "20.00", 1)]),
        order("o3", [("a", "30.00", 1)]),
    ])
    assert [r.points for r in results] == [10, 20, 30]
    again = shop.record_orders([order("o1", [("a", "10.00", 1)])])
    assert again[0].replayed
    assert shop.balance("c1").pending == 60
    assert shop.summary()["orders"] == 3
    assert_books_ok(shop)


# -- idempotency -------------------------------------------------------------------------------


def test_a_replayed_order_changes_nothing_and_says_so(shop):
    first = shop.record_order(order("o1", [("a", "10.00", 3)]))
    before = snapshot(shop, "c1")
    again = shop.record_order(order("o1", [("a", "10.00", 3)]))
    assert again.replayed
    assert (again.transaction_id, again.points) == (first.transaction_id, 30)
    assert snapshot(shop, "c1") == before
    assert_books_ok(shop)


def test_the_same_order_id_with_a_different_payload_is_a_conflict(shop):
    shop.record_order(order("o1", [("a", "10.00", 3)]))
    before = snapshot(shop, "c1")
    with pytest.raises(IdempotencyConflict) as caught:
        shop.record_order(order("o1", [("a", "10.00", 4)]))
    assert caught.value.field == "idempotency_key"
    assert "order:o1:earn" in str(caught.value)
    assert snapshot(shop, "c1") == before
    assert_books_ok(shop)


def test_a_replayed_refund_and_cancellation_change_nothing(shop):
    released(shop, order("o1", [("a", "10.00", 3)]))
    first = shop.record_refund(refund("r1", "o1", T0 + 20 * DAY, {"a": 1}))
    before = snapshot(shop, "c1")
    again = shop.record_refund(refund("r1", "o1", T0 + 20 * DAY, {"a": 1}))
    assert again.replayed and again.points == first.points == 10
    assert again.transaction_id == first.transaction_id
    assert snapshot(shop, "c1") == before

    with pytest.raises(IdempotencyConflict):
        shop.record_refund(refund("r1", "o1", T0 + 20 * DAY, {"a": 2}))
    assert snapshot(shop, "c1") == before

    cancelled = shop.record_cancellation(cancellation("o1", T0 + 21 * DAY))
    before = snapshot(shop, "c1")
    again = shop.record_cancellation(cancellation("o1", T0 + 21 * DAY))
    assert again.replayed and again.points == cancelled.points == 20
    assert snapshot(shop, "c1") == before
    assert_books_ok(shop)


# -- refunds -----------------------------------------------------------------------------------


def test_a_refund_by_quantity_takes_back_that_share_of_the_line(shop):
    released(shop, order("o1", [("a", "10.00", 3), ("b", "25.50", 1)]))
    # Line a earned 30 points for 3 units: one unit back is 30 / 3 = 10 points; line b is untouched.
    result = shop.record_refund(refund("r1", "o1", T0 + 20 * DAY, {"a": 1}))
    assert (result.points, result.written_off) == (10, 0)
    assert shop.balance("c1").available == 55 - 10
    assert_books_ok(shop)


def test_partial_refunds_add_up_exactly_to_what_the_order_earned(shop):
    # 3 x $3.40 = $10.20 -> 10 points. Unit by unit the cumulative share is 1/3, 2/3, 3/3 of 10
    # points, floored in the member's favour: 3, 6, 10 -> the refunds take 3, 3 and 4.
    released(shop, order("o1", [("a", "3.40", 3)]))
    taken = [shop.record_refund(refund(f"r{n}", "o1", T0 + (20 + n) * DAY, {"a": 1})).points for n in (1, 2, 3)]
    assert taken == [3, 3, 4]
    assert sum(taken) == 10
    assert shop.balance("c1").available == 0
    # Nothing is left to take, so a further refund takes nothing.
    assert shop.record_refund(refund("r4", "o1", T0 + 30 * DAY, {"a": 1})).points == 0
    assert shop.balance("c1").available == 0
    assert_books_ok(shop)


def test_partial_refunds_of_several_lines_add_up_to_the_order(shop):
    # $10.00 x 3 (a) + $25.50 (b) = 55 points, split a=30, b=25 (largest remainder).
    released(shop, order("o1", [("a", "10.00", 3), ("b", "25.50", 1)]))
    steps = [({"a": 1}, 10), ({"b": 1}, 25), ({"a": 2}, 20)]
    for n, (quantities, expected) in enumerate(steps):
        assert shop.record_refund(refund(f"r{n}", "o1", T0 + 20 * DAY, quantities)).points == expected
    assert shop.balance("c1").available == 0
    assert shop.summary()["points"]["clawed_back"] == 55
    assert_books_ok(shop)


def test_a_refund_by_amount_takes_back_its_share_of_the_order(shop):
    released(shop, order("o1", [("a", "60.00", 1), ("b", "40.00", 1)]))
    # $25 of a $100 order is a quarter of 100 points.
    result = shop.record_refund(refund("r1", "o1", T0 + 20 * DAY, amount="25.00"))
    assert result.points == 25
    assert shop.balance("c1").available == 75
    assert_books_ok(shop)


def test_a_refund_of_a_line_amount_takes_back_that_share_of_the_line(shop):
    released(shop, order("o1", [("a", "60.00", 1), ("b", "40.00", 1)]))
    # $15 back on line a ($60, 60 points) is a quarter of it: 15 points.
    result = shop.record_refund(Refund("r1", "o1", T0 + 20 * DAY, [RefundLine("a", amount=Money("15.00", "USD"))]))
    assert result.points == 15
    assert_books_ok(shop)


def test_a_refund_never_takes_more_than_the_order_earned(shop):
    released(shop, order("o1", [("a", "10.00", 2)]))
    shop.adjust("c1", 500, "welcome gift")
    # Refunding 5 units of a 2-unit line, or $1000 of a $20 order, is capped at the 20 points earned.
    assert shop.record_refund(refund("r1", "o1", T0 + 20 * DAY, {"a": 5})).points == 20
    assert shop.record_refund(refund("r2", "o1", T0 + 21 * DAY, amount="1000.00")).points == 0
    assert shop.balance("c1").available == 500
    released(shop, order("o2", [("a", "10.00", 2)]), at=T0 + 30 * DAY)
    assert shop.record_refund(refund("r3", "o2", T0 + 50 * DAY, amount="1000.00")).points == 20
    assert shop.balance("c1").available == 500
    assert_books_ok(shop)


def test_a_refund_takes_the_orders_pending_points_first(shop):
    released(shop, order("o1", [("a", "100.00", 1)]))
    shop.record_order(order("o2", [("a", "50.00", 1)], at=T0 + 20 * DAY))
    assert (shop.balance("c1").available, shop.balance("c1").pending) == (100, 50)
    # o2 is still in its return window: the 20 points come off its pending lot, not the
    # available balance.
    result = shop.record_refund(refund("r1", "o2", T0 + 21 * DAY, amount="20.00"))
    assert result.points == 20
    assert (shop.balance("c1").available, shop.balance("c1").pending) == (100, 30)
    # The rest of o2 releases later: 30 points.
    assert shop.run_jobs(T0 + 34 * DAY).released_points == 30
    assert (shop.balance("c1").available, shop.balance("c1").pending) == (130, 0)
    assert_books_ok(shop)


def test_a_refund_of_a_pending_order_releases_only_what_is_left(shop):
    shop.record_order(order("o1", [("a", "10.00", 4)]))
    assert shop.record_refund(refund("r1", "o1", T0 + 2 * DAY, {"a": 1})).points == 10
    assert shop.run_jobs(T0 + 14 * DAY).released_points == 30
    assert (shop.balance("c1").available, shop.balance("c1").pending) == (30, 0)
    assert_books_ok(shop)


def test_a_refund_of_an_unknown_order_or_line_is_refused(shop):
    released(shop, order("o1", [("a", "10.00", 1)]))
    before = snapshot(shop, "c1")
    with pytest.raises(OrderNotFound) as caught:
        shop.record_refund(refund("r1", "nope", T0 + 20 * DAY, {"a": 1}))
    assert caught.value.value == "nope"
    with pytest.raises(InvalidInput) as caught:
        shop.record_refund(refund("r2", "o1", T0 + 20 * DAY, {"zz": 1}))
    assert caught.value.field == "line_id" and "'zz'" in str(caught.value)
    with pytest.raises(InvalidInput) as caught:
        shop.record_refund(refund("r3", "o1", T0 + 20 * DAY, amount="5.00", currency="EUR"))
    assert "EUR" in str(caught.value)
    assert snapshot(shop, "c1") == before


# -- cancellations -----------------------------------------------------------------------------


def test_a_cancellation_after_a_partial_refund_takes_the_rest(shop):
    released(shop, order("o1", [("a", "10.00", 3)]))
    assert shop.record_refund(refund("r1", "o1", T0 + 20 * DAY, {"a": 1})).points == 10
    # 30 earned - 10 already taken back = 20.
    result = shop.record_cancellation(cancellation("o1", T0 + 21 * DAY))
    assert result.points == 20
    assert shop.balance("c1").available == 0
    # Nothing is left: a later refund of the cancelled order takes nothing.
    late = shop.record_refund(refund("r2", "o1", T0 + 22 * DAY, {"a": 1}))
    assert late.points == 0
    assert shop.summary()["points"]["clawed_back"] == 30
    assert_books_ok(shop)


def test_a_cancellation_of_a_pending_order_voids_its_lot(shop):
    shop.record_order(order("o1", [("a", "80.00", 1)]))
    assert shop.record_cancellation(cancellation("o1", T0 + DAY)).points == 80
    assert (shop.balance("c1").available, shop.balance("c1").pending) == (0, 0)
    # The voided lot never releases.
    assert shop.run_jobs(T0 + 15 * DAY).released_points == 0
    assert (shop.balance("c1").available, shop.balance("c1").pending) == (0, 0)
    # The history explains it, and shows no "0 points released" for the cancelled order.
    history = shop.history("c1")
    assert [(line.kind, line.points) for line in history] == [("cancel", -80), ("earn", 80)]
    assert "o1" in history[0].reason
    assert_books_ok(shop)


def test_a_cancellation_of_an_unknown_order_is_refused(shop):
    with pytest.raises(OrderNotFound):
        shop.record_cancellation(cancellation("ghost", T0))
    assert_books_ok(shop)


# -- program changes --------------------------------------------------------------------------


def test_a_clawback_uses_the_awards_recorded_when_the_order_earned(loyalty_at, database_url):
    first = loyalty_at(program=base_program())
    first.enroll("c1")
    released(first, order("o1", [("a", "50.00", 1), ("b", "50.00", 1)]))
    assert first.balance("c1").available == 100

    # The merchant triples the earn rate; the order was still earned at 1 point per dollar.
    tripled = base_program(earn={"points_per_unit": 3})
    second = loyalty_at(database_url, program=tripled)
    # Refunding line b ($50, which earned 50 points) takes back 50 points, not 150.
    assert second.record_refund(refund("r1", "o1", T0 + 20 * DAY, {"b": 1})).points == 50
    assert second.balance("c1").available == 50
    assert second.record_cancellation(cancellation("o1", T0 + 21 * DAY)).points == 50
    assert second.balance("c1").available == 0

    with second.db.connect() as conn:
        versions = dict(conn.execute(select(transactions.c.kind, transactions.c.program_version)
                                     .where(transactions.c.kind.in_(("earn", "cancel")))).all())
    assert versions["earn"] == program_from_mapping(base_program()).version
    assert versions["cancel"] == program_from_mapping(tripled).version
    assert_books_ok(second)


def test_zero_decimal_currencies_earn_at_their_own_rate(loyalty_at):
    shop = loyalty_at(program=base_program(earn={"pending_days": 0, "rates": {"JPY": "0.01"}}))
    shop.enroll("c1")
    # ¥1,500 x 2 = ¥3,000 at 0.01 points per yen = 30 points.
    result = shop.record_order(order("o1", [("a", "1500", 2)], currency="JPY"))
    assert result.points == 30
    assert shop.record_refund(refund("r1", "o1", T0 + DAY, {"a": 1})).points == 15
    assert shop.record_refund(refund("r2", "o1", T0 + DAY, amount="1500", currency="JPY")).points == 15
    assert shop.balance("c1").available == 0
    assert_books_ok(shop)


def test_an_order_discount_lowers_what_each_line_earns_and_gives_back(shop):
    # $60 + $40 with $20 off the order: the discount splits 12/8, so a earns 48 and b 32.
    built = order("o1", [("a", "60.00", 1), ("b", "40.00", 1)], order_discount=Money("20.00", "USD"))
    result = shop.record_order(built)
    assert result.points == 80
    assert {(a.line_id, a.points) for a in result.awards} == {("a", 48), ("b", 32)}
    assert shop.record_refund(refund("r1", "o1", T0 + DAY, {"b": 1})).points == 32
    assert shop.balance("c1").pending == 48
    assert_books_ok(shop)
