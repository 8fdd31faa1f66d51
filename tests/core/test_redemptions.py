"""Spending points: redemptions and manual adjustments, through the facade.

Points are available at once here (no return window) unless a test says otherwise; 1 point per
whole dollar. Rewards: 5-off (500), coffee (100), tote (200, gold only), ship-once (50, once per
member), pay (points as money, 100..5000 in steps of 100, 1 point = $0.01).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from loyalty_sdk import hookimpl
from loyalty_sdk.core.errors import (
    IdempotencyConflict,
    InsufficientPoints,
    InvalidInput,
    MemberNotFound,
    RedemptionRefused,
    RewardNotFound,
)
from loyalty_sdk.core.money import Money
from loyalty_sdk.core.storage import lot_draws, redemptions

from . import T0, assert_books_ok, base_program, order, snapshot

DAY = timedelta(days=1)


@pytest.fixture
def program():
    return base_program(earn={"pending_days": 0})


@pytest.fixture
def shop(books):
    books.enroll("c1")
    books.record_order(order("o1", [("a", "600.00", 1)]))  # 600 points, available
    return books


def test_a_redemption_spends_points_and_issues_a_code(shop):
    result = shop.redeem("c1", "5-off")
    assert (result.points, result.status, result.replayed) == (500, "issued", False)
    assert result.value == Money("5.00", "USD")
    assert result.code and result.code.startswith("LOYAL-")
    assert shop.balance("c1").available == 100
    [line, *_] = shop.history("c1")
    assert (line.kind, line.points) == ("redeem", -500)
    assert "$5 off" in line.reason
    assert shop.summary()["points"]["redeemed"] == 500
    assert_books_ok(shop)


def test_a_redemption_above_the_balance_is_refused_and_posts_nothing(shop):
    shop.redeem("c1", "5-off")  # 600 -> 100
    before = snapshot(shop, "c1")
    with pytest.raises(InsufficientPoints) as caught:
        shop.redeem("c1", "5-off")
    assert caught.value.field == "points" and caught.value.value == 500
    assert "500" in str(caught.value) and "100" in str(caught.value)
    assert snapshot(shop, "c1") == before
    assert_books_ok(shop)


def test_pending_points_cannot_be_spent(loyalty_at):
    shop = loyalty_at(program=base_program())  # 14-day return window
    shop.enroll("c1")
    shop.record_order(order("o1", [("a", "600.00", 1)]))
    with pytest.raises(InsufficientPoints):
        shop.redeem("c1", "5-off")
    assert (shop.balance("c1").available, shop.balance("c1").pending) == (0, 600)
    shop.run_jobs(T0 + 14 * DAY)
    assert shop.redeem("c1", "5-off").points == 500
    assert_books_ok(shop)


def test_a_redemption_draws_the_soonest_expiring_lots_first(books):
    books.enroll("c1")
    # Recorded first but placed last: o1 (T0, expires T0+180d) then o2, a late import placed
    # 60 days earlier (expires T0+120d). o2's lot is spent first, whatever the recording order.
    books.record_order(order("o1", [("a", "300.00", 1)]))
    books.record_order(order("o2", [("a", "80.00", 1)], at=T0 - 60 * DAY))
    lot_o1, lot_o2 = books.lots("c1")
    assert lot_o2.expires_at < lot_o1.expires_at
    result = books.redeem("c1", "pay", points=100)
    # 80 from o2's lot, the remaining 20 from o1's.
    with books.db.connect() as conn:
        spent = conn.execute(select(redemptions.c.transaction_id).where(redemptions.c.id == result.id)).scalar_one()
        drawn = dict(conn.execute(select(lot_draws.c.lot_id, lot_draws.c.points)
                                  .where(lot_draws.c.transaction_id == spent)).all())
    assert drawn == {lot_o2.id: 80, lot_o1.id: 20}
    assert {lot.id: lot.remaining for lot in books.lots("c1")} == {lot_o1.id: 280, lot_o2.id: 0}
    assert_books_ok(books)


def test_a_redemption_with_the_same_key_is_replayed(shop):
    first = shop.redeem("c1", "coffee", idempotency_key="req-1")
    before = snapshot(shop, "c1")
    again = shop.redeem("c1", "coffee", idempotency_key="req-1")
    assert again.replayed
    assert (again.id, again.code, again.transaction_id, again.points) == (first.id, first.code,
                                                                          first.transaction_id, 100)
    assert snapshot(shop, "c1") == before
    assert shop.balance("c1").available == 500


def test_the_same_key_for_another_reward_is_a_conflict(shop):
    shop.redeem("c1", "coffee", idempotency_key="req-1")
    before = snapshot(shop, "c1")
    with pytest.raises(IdempotencyConflict) as caught:
        shop.redeem("c1", "5-off", idempotency_key="req-1")
    assert "req-1" in str(caught.value)
    assert snapshot(shop, "c1") == before


def test_pay_with_points_is_worth_the_point_value(shop):
    result = shop.redeem("c1", "pay", points=300)
    # 300 points x $0.01 = $3.00.
    assert (result.points, result.value) == (300, Money(Decimal("3.00"), "USD"))
    assert shop.balance("c1").available == 300


@pytest.mark.parametrize(("points", "why"), [(150, "multiples of 100"), (50, "at least 100"),
                                             (6000, "at most 5000")])
def test_pay_with_points_outside_its_terms_is_refused(shop, points, why):
    shop.adjust("c1", 10_000, "test balance")
    before = snapshot(shop, "c1")
    with pytest.raises(RedemptionRefused) as caught:
        shop.redeem("c1", "pay", points=points)
    assert why in str(caught.value) and str(points) in str(caught.value)
    assert snapshot(shop, "c1") == before


@pytest.mark.parametrize("points", [0, -100, 1.5, True, "100"])
def test_redeemed_points_must_be_a_positive_integer(shop, points):
    before = snapshot(shop, "c1")
    with pytest.raises(InvalidInput) as caught:
        shop.redeem("c1", "pay", points=points)
    assert caught.value.field == "points"
    assert snapshot(shop, "c1") == before


def test_a_fixed_reward_costs_exactly_its_points(shop):
    with pytest.raises(RedemptionRefused, match="costs 100 points"):
        shop.redeem("c1", "coffee", points=50)
    assert shop.balance("c1").available == 600


def test_unknown_and_tier_limited_rewards_are_not_found(shop):
    before = snapshot(shop, "c1")
    with pytest.raises(RewardNotFound, match="no such reward"):
        shop.redeem("c1", "yacht")
    with pytest.raises(RewardNotFound, match="tier not eligible"):
        shop.redeem("c1", "tote")  # gold only; the member is silver
    assert "tote" not in {reward.id for reward in shop.rewards("c1")}
    assert snapshot(shop, "c1") == before


def test_gold_members_see_and_redeem_gold_rewards(shop):
    shop.record_order(order("o2", [("a", "1000.00", 1)]))  # 1600 points: gold
    assert shop.tier("c1") == "gold"
    assert "tote" in {reward.id for reward in shop.rewards("c1")}
    assert shop.redeem("c1", "tote").points == 200


def test_a_reward_limited_per_member_is_refused_the_second_time(shop):
    shop.redeem("c1", "ship-once")
    before = snapshot(shop, "c1")
    with pytest.raises(RedemptionRefused) as caught:
        shop.redeem("c1", "ship-once")
    assert caught.value.field == "limit_per_member"
    assert snapshot(shop, "c1") == before


def test_a_redemption_for_an_unknown_member_is_refused(shop):
    with pytest.raises(MemberNotFound):
        shop.redeem("nobody", "coffee")


class RefusingPlatform:
    """A platform that cannot create discount codes today."""

    @hookimpl(tryfirst=True)
    def loyalty_issue_reward(self, redemption, member, shop):
        raise RuntimeError("platform unavailable")


def test_a_reward_that_cannot_be_issued_gives_the_points_back(loyalty_at):
    shop = loyalty_at(program=base_program(earn={"pending_days": 0}), plugins=[RefusingPlatform()])
    shop.enroll("c1")
    shop.record_order(order("o1", [("a", "600.00", 1)]))
    with pytest.raises(RuntimeError, match="platform unavailable"):
        shop.redeem("c1", "5-off")
    assert shop.balance("c1").available == 600
    with shop.db.connect() as conn:
        assert conn.execute(select(redemptions.c.status)).scalars().all() == ["failed"]
    kinds = [line.kind for line in shop.history("c1")]
    assert kinds.count("redeem") == 1 and kinds.count("reversal") == 1
    assert "platform unavailable" in shop.history("c1")[0].reason
    assert_books_ok(shop)


# -- adjustments -------------------------------------------------------------------------------


def test_adjustments_add_and_remove_points_with_a_reason(shop):
    shop.adjust("c1", 250, "goodwill for a late delivery", actor="agent-7")
    assert shop.balance("c1").available == 850
    shop.adjust("c1", -50, "duplicate goodwill")
    assert shop.balance("c1").available == 800
    newest, older, *_ = shop.history("c1")
    assert (newest.kind, newest.points, newest.reason) == ("adjust", -50, "duplicate goodwill")
    assert (older.points, older.cause["actor"], older.cause["reason"]) == (250, "agent-7",
                                                                          "goodwill for a late delivery")
    points = shop.summary()["points"]
    assert points["adjusted"] == 200
    assert_books_ok(shop)


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_an_adjustment_needs_a_reason(shop, reason):
    before = snapshot(shop, "c1")
    with pytest.raises(InvalidInput) as caught:
        shop.adjust("c1", 10, reason)
    assert caught.value.field == "reason"
    assert snapshot(shop, "c1") == before


@pytest.mark.parametrize("points", [0, 1.5, "10", True])
def test_adjusted_points_must_be_a_non_zero_integer(shop, points):
    with pytest.raises(InvalidInput) as caught:
        shop.adjust("c1", points, "why")
    assert caught.value.field == "points"


def test_an_adjustment_cannot_remove_more_than_is_available(shop):
    before = snapshot(shop, "c1")
    with pytest.raises(InsufficientPoints):
        shop.adjust("c1", -601, "too much")
    assert snapshot(shop, "c1") == before
    shop.adjust("c1", -600, "all of it")
    assert shop.balance("c1").available == 0
    assert_books_ok(shop)


def test_an_adjustment_key_is_idempotent(shop):
    first = shop.adjust("c1", 40, "survey", idempotency_key="survey-1")
    again = shop.adjust("c1", 40, "survey", idempotency_key="survey-1")
    assert again.replayed and again.transaction_id == first.transaction_id
    assert shop.balance("c1").available == 640
    with pytest.raises(IdempotencyConflict):
        shop.adjust("c1", 41, "survey", idempotency_key="survey-1")
    assert shop.balance("c1").available == 640
