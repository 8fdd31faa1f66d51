"""Clawback: what a refund takes back, and what happens to points the member already spent.

Points here are available at once (no return window) unless a test says otherwise, so spending
before a refund is easy to set up: 1 point per whole dollar.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from loyalty_sdk.core import clawback
from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.models import Refund, RefundLine
from loyalty_sdk.core.money import Money
from loyalty_sdk.core.storage import transactions

from . import T0, assert_books_ok, base_program, cancellation, order, refund

DAY = timedelta(days=1)


@pytest.fixture
def program():
    return base_program(earn={"pending_days": 0})


def member_with(loyalty_at, **clawback_policy):
    shop = loyalty_at(program=base_program(earn={"pending_days": 0}, clawback=clawback_policy))
    shop.enroll("c1")
    return shop


def stored_detail(shop, transaction_id):
    with shop.db.connect() as conn:
        return conn.execute(select(transactions.c.detail).where(transactions.c.id == transaction_id)).scalar_one()


# -- spent points ------------------------------------------------------------------------------


def test_negative_policy_takes_spent_points_into_a_negative_balance(loyalty_at):
    shop = member_with(loyalty_at, spent_points="negative", max_negative=1000)
    shop.record_order(order("o1", [("a", "100.00", 1)]))
    shop.redeem("c1", "coffee")  # 100 points spent, 0 left
    result = shop.record_refund(refund("r1", "o1", T0 + DAY, {"a": 1}))
    # All 100 points are owed: the balance goes to -100, nothing is written off.
    assert (result.points, result.written_off) == (100, 0)
    assert shop.balance("c1").available == -100
    detail = stored_detail(shop, result.transaction_id)
    assert (detail["negative"], detail["written_off"]) == (100, 0)
    points = shop.summary()["points"]
    assert (points["clawed_back"], points["outstanding"]) == (100, -100)
    assert_books_ok(shop)

    # The next earning pays the debt first: 150 - 100 = 50 left to spend, in one lot of 50.
    shop.record_order(order("o2", [("a", "150.00", 1)], at=T0 + 2 * DAY))
    assert shop.balance("c1").available == 50
    assert [lot.remaining for lot in shop.lots("c1")] == [0, 50]
    shop.redeem("c1", "ship-once")  # 50 points
    assert shop.balance("c1").available == 0
    assert_books_ok(shop)


def test_negative_policy_is_bounded_and_the_rest_is_written_off_on_record(loyalty_at):
    shop = member_with(loyalty_at, spent_points="negative", max_negative=30)
    shop.record_order(order("o1", [("a", "100.00", 1)]))
    shop.redeem("c1", "coffee")
    result = shop.record_refund(refund("r1", "o1", T0 + DAY, {"a": 1}))
    # 100 owed, the balance may go to -30 at most: 30 taken, 70 written off and recorded.
    assert (result.points, result.written_off) == (30, 70)
    assert shop.balance("c1").available == -30
    detail = stored_detail(shop, result.transaction_id)
    assert (detail["negative"], detail["written_off"]) == (30, 70)
    [line, *_] = shop.history("c1")
    assert (line.kind, line.points) == ("clawback", -30)
    assert line.cause["policy"] == "negative"
    assert_books_ok(shop)


def test_write_off_policy_never_goes_below_zero_and_records_the_shortfall(loyalty_at):
    shop = member_with(loyalty_at, spent_points="write_off")
    shop.record_order(order("o1", [("a", "100.00", 1)]))
    shop.record_order(order("o2", [("a", "50.00", 1)]))
    shop.redeem("c1", "coffee")  # 150 - 100 = 50 left
    result = shop.record_refund(refund("r1", "o1", T0 + DAY, {"a": 1}))
    # o1 earned 100; only 50 are left to take, the other 50 are written off.
    assert (result.points, result.written_off) == (50, 50)
    assert shop.balance("c1").available == 0
    detail = stored_detail(shop, result.transaction_id)
    assert (detail["negative"], detail["written_off"]) == (0, 50)
    assert shop.summary()["points"]["clawed_back"] == 50
    assert_books_ok(shop)


def test_the_same_refund_under_the_negative_policy_owes_the_shortfall(loyalty_at):
    shop = member_with(loyalty_at, spent_points="negative", max_negative=1000)
    shop.record_order(order("o1", [("a", "100.00", 1)]))
    shop.record_order(order("o2", [("a", "50.00", 1)]))
    shop.redeem("c1", "coffee")
    result = shop.record_refund(refund("r1", "o1", T0 + DAY, {"a": 1}))
    # 50 from the balance and 50 owed: -50.
    assert (result.points, result.written_off) == (100, 0)
    assert shop.balance("c1").available == -50
    assert_books_ok(shop)


def test_a_negative_balance_cannot_be_spent(loyalty_at):
    from loyalty_sdk.core.errors import InsufficientPoints

    shop = member_with(loyalty_at, spent_points="negative", max_negative=1000)
    shop.record_order(order("o1", [("a", "100.00", 1)]))
    shop.redeem("c1", "coffee")
    shop.record_refund(refund("r1", "o1", T0 + DAY, {"a": 1}))
    with pytest.raises(InsufficientPoints):
        shop.redeem("c1", "ship-once")
    assert shop.balance("c1").available == -100
    assert_books_ok(shop)


def test_pending_points_release_to_pay_a_negative_balance(loyalty_at):
    shop = loyalty_at(program=base_program(earn={"pending_days": 14}))
    shop.enroll("c1")
    shop.record_order(order("o1", [("a", "100.00", 1)]))
    shop.run_jobs(T0 + 14 * DAY)
    shop.redeem("c1", "coffee")
    shop.record_order(order("o2", [("a", "60.00", 1)], at=T0 + 15 * DAY))
    # o1 is refunded while o2's 60 points wait: pending points go first (60), the other 40 are owed.
    result = shop.record_refund(refund("r1", "o1", T0 + 16 * DAY, {"a": 1}))
    assert result.points == 100
    assert (shop.balance("c1").available, shop.balance("c1").pending) == (-40, 0)
    assert_books_ok(shop)


def test_a_clawback_lowers_lifetime_points(books):
    books.enroll("c1")
    books.record_order(order("o1", [("a", "80.00", 1)]))
    books.record_refund(refund("r1", "o1", T0 + DAY, amount="20.00"))
    # 80 earned, 20 taken back.
    assert books.balance("c1").lifetime_points == 60


# -- tiers --------------------------------------------------------------------------------------


def test_a_clawback_re_evaluates_the_tier(books):
    books.enroll("c1")
    assert books.tier("c1") == "bronze"
    # 600 points this year reach silver (500) at once, as they are available at once.
    books.record_order(order("o1", [("a", "100.00", 6)]))
    assert books.tier("c1") == "silver"
    # Two of six units back: 600 - 200 = 400 < 500, so the order no longer earns silver.
    books.record_refund(refund("r1", "o1", T0 + DAY, {"a": 2}))
    assert books.tier("c1") == "bronze"
    changes = books.tier_history("c1")
    assert [(c["from_tier"], c["to_tier"]) for c in changes] == [(None, "bronze"), ("bronze", "silver"),
                                                                  ("silver", "bronze")]
    assert changes[-1]["reason"]
    assert_books_ok(books)


def test_a_cancellation_after_a_refund_re_evaluates_the_tier(books):
    books.enroll("c1")
    books.record_order(order("o1", [("a", "100.00", 6)]))
    books.record_order(order("o2", [("a", "450.00", 1)]))
    assert books.tier("c1") == "silver"  # 1050 points
    books.record_refund(refund("r1", "o1", T0 + DAY, {"a": 1}))  # 950
    assert books.tier("c1") == "silver"
    books.record_cancellation(cancellation("o1", T0 + 2 * DAY))  # 450
    assert books.tier("c1") == "bronze"
    assert books.balance("c1").available == 450
    assert_books_ok(books)


# -- the arithmetic, without a database -------------------------------------------------------


def earn_detail(lines: dict[str, tuple[int, int, int]], unlined: int = 0) -> dict:
    """What the engine records on an earn: per line (quantity, net minor units, points)."""
    # As the engine does: the lines that earned, or every line when none earned by line.
    earning = [net for _, net, points in lines.values() if points > 0]
    eligible = sum(earning) if earning else sum(net for _, net, _ in lines.values())
    return {"lines": {k: list(v) for k, v in lines.items()}, "unlined": unlined, "eligible_minor": eligible,
            "currency": "USD"}


def test_cumulative_refunds_floor_in_the_members_favour():
    earn = earn_detail({"a": (3, 1020, 10)})
    state = clawback.refunded_so_far([])
    taken = []
    for n in range(3):
        plan = clawback.plan_refund(earn, state, sum(taken), 10, refund(f"r{n}", "o1", T0, {"a": 1}), "USD")
        taken.append(plan.points)
        state = clawback.refunded_so_far([clawback.state_detail(plan.refunded, clawback.refunded_so_far([]))])
    # 10 x 1/3 = 3.33 -> 3; 10 x 2/3 = 6.67 -> 6 (3 more); 10 x 3/3 = 10 (4 more).
    assert taken == [3, 3, 4]


def test_a_refund_by_amount_spreads_over_the_lines():
    earn = earn_detail({"a": (1, 6000, 60), "b": (1, 4000, 40)})
    plan = clawback.plan_refund(earn, clawback.refunded_so_far([]), 0, 100,
                                Refund("r1", "o1", T0, amount=Money("25.00", "USD")), "USD")
    # $25 of $100: a quarter of a (15) and of b (10).
    assert plan.points == 25
    assert plan.spend_minor == 2500


def test_unlined_awards_follow_the_refunded_share_of_the_order():
    # A 20-point order bonus with no line: refunding half the order takes back half of it.
    earn = earn_detail({"a": (2, 5000, 50)}, unlined=20)
    plan = clawback.plan_refund(earn, clawback.refunded_so_far([]), 0, 70, refund("r1", "o1", T0, {"a": 1}), "USD")
    assert plan.points == 25 + 10


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 5), st.integers(1, 20_000), st.integers(0, 500)), min_size=1, max_size=4),
    st.integers(0, 100),
    st.data(),
)
def test_refunds_never_take_more_than_earned_and_a_full_refund_takes_all(lines, unlined, data):
    earn = earn_detail({f"l{i}": line for i, line in enumerate(lines)}, unlined=unlined)
    earned = sum(points for _, _, points in lines) + unlined
    details: list[dict] = []
    taken = 0
    left = {f"l{i}": quantity for i, (quantity, _, _) in enumerate(lines)}
    # Refund units in a random order and random chunks until every unit is back.
    while any(left.values()):
        line_id = data.draw(st.sampled_from(sorted(k for k, v in left.items() if v)))
        quantity = data.draw(st.integers(1, left[line_id]))
        left[line_id] -= quantity
        before = clawback.refunded_so_far(details)
        plan = clawback.plan_refund(earn, before, taken, earned,
                                    Refund(f"r{len(details)}", "o1", T0, [RefundLine(line_id, quantity)]), "USD")
        assert plan.points >= 0
        taken += plan.points
        assert taken <= earned
        details.append(clawback.state_detail(plan.refunded, before))
    # Every unit of every line is back: everything the order earned was taken back, exactly.
    assert taken == earned


# -- written off means forgiven ----------------------------------------------------------------


def test_points_written_off_by_one_refund_are_not_taken_by_the_next(loyalty_at):
    shop = member_with(loyalty_at, spent_points="write_off")
    shop.record_order(order("o1", [("a", "50.00", 2)]))  # 100 points
    shop.redeem("c1", "coffee")  # all 100 spent
    first = shop.record_refund(refund("r1", "o1", T0 + DAY, {"a": 1}))
    # Half the order: 50 owed, nothing left to take, 50 written off.
    assert (first.points, first.written_off) == (0, 50)
    shop.record_order(order("o2", [("a", "200.00", 1)], at=T0 + 2 * DAY))  # 200 points
    second = shop.record_refund(refund("r2", "o1", T0 + 3 * DAY, {"a": 1}))
    # The second half takes its own 50 points, not the 50 already written off as well.
    assert (second.points, second.written_off) == (50, 0)
    assert shop.balance("c1").available == 150
    assert_books_ok(shop)


def test_a_cancellation_does_not_take_points_already_written_off(loyalty_at):
    shop = member_with(loyalty_at, spent_points="negative", max_negative=20)
    shop.record_order(order("o1", [("a", "50.00", 2)]))  # 100 points
    shop.redeem("c1", "coffee")
    first = shop.record_refund(refund("r1", "o1", T0 + DAY, {"a": 1}))
    # 50 owed: 20 into the negative, 30 written off.
    assert (first.points, first.written_off) == (20, 30)
    shop.record_order(order("o2", [("a", "200.00", 1)], at=T0 + 2 * DAY))  # -20 + 200 = 180
    cancelled = shop.record_cancellation(cancellation("o1", T0 + 3 * DAY))
    # What is left of the order is the other 50 points: 100 - 20 taken - 30 forgiven.
    assert (cancelled.points, cancelled.written_off) == (50, 0)
    assert shop.balance("c1").available == 130
    assert_books_ok(shop)


def test_a_refund_to_date_takes_back_only_the_increase(books):
    books.enroll("c1")
    books.record_order(order("o1", [("a", "100.00", 1)]))  # 100 points
    step = [("r@30", "30.00"), ("r@80", "80.00"), ("r@30-late", "30.00"), ("r@100", "100.00")]
    taken = [books.record_refund(Refund(rid, "o1", T0, amount=Money(amount, "USD"), to_date=True)).points
             for rid, amount in step]
    # 30 refunded so far, then 80, then a stale report of 30 (nothing), then everything.
    assert taken == [30, 50, 0, 20]
    assert books.balance("c1").pending == 0
    assert_books_ok(books)


def test_a_refund_to_date_names_no_lines():
    with pytest.raises(InvalidInput, match="to date"):
        Refund("r1", "o1", T0, [RefundLine("a", 1)], to_date=True)
