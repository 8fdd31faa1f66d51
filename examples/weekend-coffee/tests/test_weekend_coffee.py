"""Weekend points on the coffee collection and the tier for regulars, through loyalty-sdk's kit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import metadata

import pytest
from coffee_program import coffee_program
from weekend_coffee import settings

from loyalty_sdk.core.errors import ProgramError
from loyalty_sdk.core.program import program_from_mapping
from loyalty_sdk.testing import assert_awards, assert_ledger

SATURDAY = datetime(2026, 3, 7, 11, 0, tzinfo=UTC)
COFFEE = {"beans": {"coffee"}}
BASKET = [("beans", "12.00", 1), ("croissant", "3.00", 1)]


@pytest.fixture
def member(make_member):
    return make_member("c1")


def test_coffee_earns_double_at_the_weekend(loyalty, member, make_order) -> None:
    result = loyalty.record_order(make_order("1001", lines=BASKET, collections=COFFEE, at=SATURDAY))
    assert_awards(result, {"earn.spend": 15, "weekend-coffee": 12})
    assert_ledger(loyalty, member, available=27, pending=0)


@pytest.mark.parametrize(("moment", "bonus"), [
    (datetime(2026, 3, 6, 22, 30, tzinfo=UTC), 0),   # Friday 23:30 in Paris
    (datetime(2026, 3, 6, 23, 30, tzinfo=UTC), 12),  # Saturday 00:30 in Paris
    (datetime(2026, 3, 8, 22, 59, tzinfo=UTC), 12),  # Sunday 23:59 in Paris
    (datetime(2026, 3, 8, 23, 0, tzinfo=UTC), 0),    # Monday 00:00 in Paris
])
def test_the_weekend_is_the_programs_local_weekend(loyalty, member, make_order, moment, bonus) -> None:
    result = loyalty.record_order(make_order("1001", lines=BASKET, collections=COFFEE, at=moment))
    assert_awards(result, {"earn.spend": 15, "weekend-coffee": bonus})


def test_other_collections_earn_single_points_at_the_weekend(loyalty, member, make_order) -> None:
    result = loyalty.record_order(make_order("1001", lines=BASKET, collections={"croissant": {"bakery"}},
                                             at=SATURDAY))
    assert_awards(result, {"earn.spend": 15})


def test_refunding_the_coffee_takes_its_weekend_points_back(loyalty, member, make_order, make_refund) -> None:
    order = make_order("1001", lines=BASKET, collections=COFFEE, at=SATURDAY)
    loyalty.record_order(order)
    loyalty.record_refund(make_refund(order, lines=[("beans", 1)], at=SATURDAY + timedelta(days=1)))
    assert_ledger(loyalty, member, available=3)


def orders_every(loyalty, make_order, loyalty_clock, days: int, count: int, price: str = "10.00") -> None:
    for _ in range(count):
        loyalty.record_order(make_order(f"{loyalty_clock.now:%Y%m%d}", lines=[("tea", price, 1)]))
        loyalty_clock.advance(days=days)


def test_five_orders_in_ninety_days_make_a_regular(loyalty, member, make_order, loyalty_clock) -> None:
    orders_every(loyalty, make_order, loyalty_clock, days=20, count=4)
    assert_ledger(loyalty, member, tier="member", available=40)
    orders_every(loyalty, make_order, loyalty_clock, days=20, count=1)
    assert_ledger(loyalty, member, tier="regular", available=50)


def test_orders_spread_wider_than_the_window_do_not_count(loyalty, member, make_order, loyalty_clock) -> None:
    orders_every(loyalty, make_order, loyalty_clock, days=25, count=5)  # the first fell out of the window
    assert_ledger(loyalty, member, tier="member")


def test_a_higher_tier_earned_by_points_is_kept(loyalty, member, make_order, loyalty_clock) -> None:
    orders_every(loyalty, make_order, loyalty_clock, days=1, count=5, price="1100.00")
    assert_ledger(loyalty, member, tier="gold", available=5500)


@pytest.mark.parametrize("loyalty_program", [coffee_program()])
def test_a_program_without_the_section_is_left_alone(loyalty, member, make_order, loyalty_clock) -> None:
    result = loyalty.record_order(make_order("1001", lines=BASKET, collections=COFFEE, at=SATURDAY))
    assert_awards(result, {"earn.spend": 15})
    orders_every(loyalty, make_order, loyalty_clock, days=1, count=5)
    assert_ledger(loyalty, member, tier="member")


@pytest.mark.parametrize(("section", "field", "message"), [
    ({"multiplier": "2"}, "collection", "must name a collection"),
    ({"collection": "coffee", "multiplier": 1.5}, "multiplier", "must be a decimal of at least 1"),
    ({"collection": "coffee", "multiplier": "0.5"}, "multiplier", "must be a decimal of at least 1"),
    ({"collection": "coffee", "tier": "platinum"}, "tier", "must be one of the program's tiers"),
    ({"collection": "coffee", "orders": 0}, "orders", "must be a whole number above 0"),
    ({"collection": "coffee", "weekdays": True}, "weekdays", "is not a setting of this plugin"),
])
def test_a_bad_section_is_an_error_naming_the_setting(section, field, message) -> None:
    with pytest.raises(ProgramError, match=message) as caught:
        settings(program_from_mapping(coffee_program(**section)))
    assert caught.value.field == f"plugins.weekend_coffee.{field}"


def test_the_package_declares_its_entry_point() -> None:
    (entry_point,) = [e for e in metadata.entry_points(group="loyalty_sdk") if e.name == "weekend_coffee"]
    assert entry_point.value == "weekend_coffee.plugin"
    assert entry_point.dist.name == "loyalty-weekend-coffee"
