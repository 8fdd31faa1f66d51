"""Tiers over time, through the jobs: upgrades, holds, lapses, and every metric and window.

Each scenario runs the jobs the way a merchant's scheduler would (daily, or rarely), and the
result must not depend on how often the jobs ran.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from . import T0, base_program, cancellation, order, refund

DAY = timedelta(days=1)


def tiers(**settings):
    return base_program(earn={"pending_days": 0}, tiers=settings, rewards=[])


def daily(shop, start, end):
    """Run the jobs once a day from ``start`` to ``end``; the tier seen after each run."""
    seen = {}
    moment = start
    while moment <= end:
        shop.run_jobs(moment)
        seen[moment] = shop.tier("c1")
        moment += DAY
    return seen


def first_day_of(seen, tier):
    return min(moment for moment, held in seen.items() if held == tier)


def test_a_tier_without_a_base_level_lapses_to_none(loyalty_at):
    # Only silver (500) and gold (1500): a member below 500 holds no tier at all.
    shop = loyalty_at(program=tiers(levels=[{"id": "silver", "threshold": 500}, {"id": "gold", "threshold": 1500}],
                                    grace_days=30))
    shop.enroll("c1")
    assert shop.tier("c1") is None
    shop.record_order(order("o1", [("a", "600.00", 1)]))
    assert shop.tier("c1") == "silver"
    shop.run_jobs(T0 + DAY)
    # Held through 2027 and 30 days of grace, then gone: no tier at all, not the lowest one.
    shop.run_jobs(datetime(2027, 6, 1, tzinfo=UTC))
    assert shop.tier("c1") == "silver"
    shop.run_jobs(datetime(2028, 2, 1, tzinfo=UTC))
    assert shop.tier("c1") is None


def test_a_rolling_tier_lapses_a_window_and_the_grace_after_it_stopped_qualifying(loyalty_at):
    shop = loyalty_at(program=tiers(window="rolling", window_days=90, grace_days=10))
    shop.enroll("c1")
    shop.record_order(order("o1", [("a", "600.00", 1)]))  # 600 points at T0: silver
    assert shop.tier("c1") == "silver"
    # The 600 points leave the 90-day window at T0 + 90 days; silver is held 90 + 10 days more.
    seen = daily(shop, T0 + DAY, T0 + 200 * DAY)
    assert first_day_of(seen, "bronze") == T0 + 190 * DAY
    assert all(held == "silver" for moment, held in seen.items() if moment < T0 + 190 * DAY)


def test_the_tier_does_not_depend_on_how_often_the_jobs_run(loyalty_at, make_database_url):
    program = tiers(window="rolling", window_days=60, grace_days=5)
    often = loyalty_at(make_database_url(), program=program)
    rarely = loyalty_at(make_database_url(), program=program)
    for shop in (often, rarely):
        shop.enroll("c1")
        shop.record_order(order("o1", [("a", "1600.00", 1)]))  # gold
        shop.record_order(order("o2", [("a", "700.00", 1)], at=T0 + 70 * DAY))  # silver on its own
    seen = daily(often, T0, T0 + 260 * DAY)
    for moment in (T0 + 100 * DAY, T0 + 200 * DAY, T0 + 260 * DAY):
        rarely.run_jobs(moment)
        assert rarely.tier("c1") == seen[moment], moment


def test_spend_tiers_count_eligible_spend_and_refunds_take_it_back(loyalty_at):
    shop = loyalty_at(program=tiers(metric="spend", levels=[{"id": "member", "threshold": 0},
                                                            {"id": "vip", "threshold": "1000.00"}]))
    shop.enroll("c1")
    shop.record_order(order("o1", [("a", "400.00", 3)]))  # $1200 spent
    assert shop.tier("c1") == "vip"
    shop.record_refund(refund("r1", "o1", T0 + DAY, {"a": 1}))  # $800 left
    assert shop.tier("c1") == "member"


def test_order_count_tiers(loyalty_at):
    shop = loyalty_at(program=tiers(metric="orders", levels=[{"id": "new", "threshold": 0},
                                                             {"id": "regular", "threshold": 3}]))
    shop.enroll("c1")
    for n in range(3):
        shop.record_order(order(f"o{n}", [("a", "5.00", 1)], at=T0 + n * DAY))
    assert shop.tier("c1") == "regular"
    shop.record_cancellation(cancellation("o2", T0 + 5 * DAY))
    assert shop.tier("c1") == "new"


def test_a_lifetime_tier_never_lapses_with_time(loyalty_at):
    shop = loyalty_at(program=tiers(window="lifetime"))
    shop.enroll("c1")
    shop.record_order(order("o1", [("a", "1500.00", 1)]))
    assert shop.tier("c1") == "gold"
    shop.run_jobs(T0 + 3000 * DAY)
    assert shop.tier("c1") == "gold"


@pytest.mark.parametrize("grace", [0, 45])
def test_a_calendar_tier_lapses_exactly_when_its_hold_ends(loyalty_at, grace):
    shop = loyalty_at(program=tiers(window="calendar_year", grace_days=grace))
    shop.enroll("c1")
    shop.record_order(order("o1", [("a", "600.00", 1)]))
    seen = daily(shop, datetime(2027, 12, 20, 12, tzinfo=UTC), datetime(2028, 3, 1, 12, tzinfo=UTC))
    # Earned in 2026: held through 2027 and ``grace`` days of 2028.
    lapse = datetime(2028, 1, 1, 12, tzinfo=UTC) + timedelta(days=grace)
    assert first_day_of(seen, "bronze") == lapse


def test_importing_old_orders_does_not_grant_a_tier_that_has_since_lapsed(loyalty_at):
    shop = loyalty_at(program=tiers(window="calendar_year", grace_days=30))
    shop.enroll("c1")
    shop.run_jobs(T0)
    # A backfill of an order placed in June 2024: gold in 2024, held through 2025 and 30 days of
    # 2026, so no longer held on 2026-03-02.
    shop.record_order(order("old", [("a", "1600.00", 1)], at=datetime(2024, 6, 1, tzinfo=UTC)))
    assert shop.tier("c1") == "bronze"
    shop.run_jobs(T0 + DAY)
    assert shop.tier("c1") == "bronze"


def test_a_late_refund_of_last_years_order_does_not_reinstate_an_old_tier(loyalty_at, clock):
    shop = loyalty_at(program=tiers(window="calendar_year", grace_days=0))
    shop.enroll("c1")
    shop.record_order(order("o1", [("a", "1600.00", 1)]))  # gold in 2026
    clock.now = datetime(2028, 3, 1, tzinfo=UTC)
    shop.run_jobs(clock.now)
    assert shop.tier("c1") == "bronze"  # lapsed on 2028-01-01
    shop.record_order(order("o2", [("a", "600.00", 1)], at=clock.now))  # silver in 2028
    assert shop.tier("c1") == "silver"
    # A refund dated back in 2026 (a platform replaying old events) leaves today's tier alone.
    shop.record_refund(refund("r1", "o1", T0 + DAY, {"a": 1}))
    assert shop.tier("c1") == "silver"
