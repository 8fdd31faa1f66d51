"""VIP tiers: upgrade at once, hold through the next period (plus grace), then downgrade."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_sdk.core.hookspecs import hookimpl
from loyalty_sdk.core.models import Member, QualifyingEvent, TierDecision, TierStats
from loyalty_sdk.core.plugin_host import PluginHost
from loyalty_sdk.core.program import program_from_mapping
from loyalty_sdk.plugins import rewards, tiers

NY = ZoneInfo("America/New_York")
LEVELS = [
    {"id": "bronze", "threshold": 0},
    {"id": "silver", "threshold": 500},
    {"id": "gold", "threshold": 1500},
]


def program(**tier_settings):
    timezone = tier_settings.pop("timezone", "America/New_York")
    return program_from_mapping(
        {"program": {"timezone": timezone, "currency": "USD"}, "tiers": {"levels": LEVELS, **tier_settings}}
    )


MEMBER = Member(
    id=1, shop_id="s", customer_id="c1", email=None, tier="bronze", enrolled_at=datetime(2020, 1, 1, tzinfo=UTC)
)


def resolve(prog, as_of, *events, clawback=False) -> TierDecision:
    return tiers.loyalty_resolve_tier(
        member=MEMBER, stats=TierStats(as_of, events=tuple(events), clawback=clawback), program=prog
    )


def points(at, amount):
    return QualifyingEvent(at, points=amount)


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


def ny(*parts):
    return datetime(*parts, tzinfo=NY)


# -- upgrades ------------------------------------------------------------------------------------


def test_upgrade_happens_the_moment_the_threshold_is_reached():
    prog = program(window="calendar_year")
    first, second = points(ny(2026, 3, 1, 10), 400), points(ny(2026, 3, 5, 10), 200)

    before = resolve(prog, ny(2026, 3, 5, 9), first, second)
    after = resolve(prog, ny(2026, 3, 5, 10), first, second)

    assert (before.tier, before.reason) == ("bronze", "below silver (400 < 500)")
    assert (after.tier, after.reason) == ("silver", "qualified: 600 points in 2026")
    assert after.inputs == {
        "metric": "points",
        "value": 600,
        "current_value": 600,
        "window": "calendar_year",
        "period": "2026",
        "threshold": "500",
        "held_until": "2028-01-01T00:00:00-05:00",
    }


def test_jumps_straight_to_the_highest_tier_reached():
    decision = resolve(program(window="calendar_year"), ny(2026, 5, 1), points(ny(2026, 5, 1), 1_520))

    assert (decision.tier, decision.reason) == ("gold", "qualified: 1,520 points in 2026")


def test_events_after_as_of_do_not_count():
    decision = resolve(program(window="lifetime"), ny(2026, 5, 1), points(ny(2026, 5, 2), 2_000))

    assert decision.tier == "bronze"


def test_no_levels_means_no_tier():
    prog = program_from_mapping({})

    assert resolve(prog, ny(2026, 1, 1), points(ny(2025, 1, 1), 9_999)) == TierDecision(None, "no tiers", {})


def test_member_below_the_lowest_threshold_has_no_tier():
    prog = program_from_mapping({"tiers": {"window": "lifetime", "levels": LEVELS[1:]}})

    decision = resolve(prog, utc(2026, 1, 1), points(utc(2025, 6, 1), 100))

    assert (decision.tier, decision.reason) == (None, "below silver (100 < 500)")
    assert decision.inputs["threshold"] is None


# -- calendar year -------------------------------------------------------------------------------


def test_calendar_year_counts_in_the_program_time_zone():
    # 23:00 on New Year's Eve in New York is already 04:00 on January 1st in UTC.
    late_order = points(utc(2026, 1, 1, 4), 1_520)

    decision = resolve(program(window="calendar_year", grace_days=30), utc(2026, 1, 1, 12), late_order)

    assert decision.tier == "gold"
    assert decision.reason == "held from 2025 until 2027-01-31"
    assert decision.inputs["value"] == 1_520
    assert decision.inputs["current_value"] == 0
    assert decision.inputs["period"] == "2025"
    assert decision.inputs["held_until"] == "2027-01-31T00:00:00-05:00"


def test_calendar_year_tier_is_held_through_next_year_and_the_grace_days_then_drops():
    prog = program(window="calendar_year", grace_days=30)
    late_order = points(ny(2025, 12, 31, 23), 1_520)

    assert resolve(prog, ny(2026, 12, 31, 23, 59), late_order).tier == "gold"
    assert resolve(prog, ny(2027, 1, 30, 23, 59), late_order).tier == "gold"
    dropped = resolve(prog, ny(2027, 1, 31), late_order)
    assert (dropped.tier, dropped.reason) == ("bronze", "below silver (0 < 500)")
    assert dropped.inputs["held_until"] is None


@settings(max_examples=60, deadline=None)
@given(zone=st.sampled_from(["America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kathmandu"]),
       year=st.integers(2019, 2031), offset=st.integers(-36 * 60, 36 * 60), years_later=st.integers(0, 5))
def test_an_order_near_new_year_counts_for_its_local_year_seen_from_any_later_year(zone, year, offset,
                                                                                  years_later):
    # The order, within a day and a half of local midnight on January 1st, counts for the year
    # its local date is in, however far before the decision it lies: held until the end of the
    # following year (plus grace), not a second longer.
    prog = program(window="calendar_year", grace_days=30, timezone=zone)
    local = ZoneInfo(zone)
    at = (datetime(year, 1, 1, tzinfo=local) + timedelta(minutes=offset)).astimezone(UTC)
    order = points(at, 1_520)
    held_until = tiers.calendar_hold_end(at.astimezone(local).year, prog.tiers, local)
    as_of = max(at, held_until - timedelta(days=366 * years_later))
    assert resolve(prog, as_of - timedelta(seconds=1) if as_of == held_until else as_of, order).tier == "gold"
    assert resolve(prog, held_until, order).tier == "bronze"


def test_the_same_order_in_a_utc_program_counts_for_the_next_year():
    late_order = points(utc(2026, 1, 1, 4), 1_520)

    decision = resolve(program(window="calendar_year", timezone="UTC"), utc(2027, 6, 1), late_order)

    assert (decision.tier, decision.reason) == ("gold", "held from 2026 until 2028-01-01")


def test_calendar_year_without_grace_drops_on_new_years_day():
    prog = program(window="calendar_year")
    order = points(ny(2026, 3, 1), 600)

    assert resolve(prog, ny(2027, 12, 31, 23, 59), order).tier == "silver"
    assert resolve(prog, ny(2028, 1, 1), order).tier == "bronze"


def test_calendar_year_keeps_the_higher_of_last_year_and_this_year():
    prog = program(window="calendar_year")
    last_year, this_year = points(ny(2025, 6, 1), 1_600), points(ny(2026, 2, 1), 700)

    decision = resolve(prog, ny(2026, 3, 1), last_year, this_year)

    assert (decision.tier, decision.reason) == ("gold", "held from 2025 until 2027-01-01")
    assert decision.inputs["current_value"] == 700


def test_requalifying_this_year_extends_the_hold():
    prog = program(window="calendar_year")
    last_year, this_year = points(ny(2025, 6, 1), 600), points(ny(2026, 2, 1), 600)

    decision = resolve(prog, ny(2026, 3, 1), last_year, this_year)

    assert (decision.tier, decision.reason) == ("silver", "qualified: 600 points in 2026")
    assert decision.inputs["held_until"] == "2028-01-01T00:00:00-05:00"


# -- rolling window ------------------------------------------------------------------------------


def test_rolling_tier_is_held_a_window_after_the_total_drops_below_the_threshold():
    prog = program(window="rolling", window_days=30, timezone="UTC")
    order = points(utc(2026, 1, 10), 600)  # counts in the 30-day total until Feb 9

    reached = resolve(prog, utc(2026, 1, 10), order)
    assert (reached.tier, reached.reason) == ("silver", "qualified: 600 points in the 30 days to 2026-01-10")
    # Held while the total qualifies (to Feb 9), then 30 more days.
    assert reached.inputs["held_until"] == "2026-03-11T00:00:00+00:00"
    held = resolve(prog, utc(2026, 2, 20), order)
    assert (held.tier, held.reason) == ("silver", "held from 2026-01-10 until 2026-03-11")
    assert held.inputs["current_value"] == 0
    assert resolve(prog, utc(2026, 3, 10, 23, 59), order).tier == "silver"
    assert resolve(prog, utc(2026, 3, 11), order).tier == "bronze"


def test_rolling_grace_days_extend_the_hold():
    prog = program(window="rolling", window_days=30, grace_days=7, timezone="UTC")
    order = points(utc(2026, 1, 10), 600)

    assert resolve(prog, utc(2026, 3, 17, 23, 59), order).reason == "held from 2026-01-10 until 2026-03-18"
    assert resolve(prog, utc(2026, 3, 18), order).tier == "bronze"


def test_rolling_window_only_adds_events_inside_the_same_window():
    prog = program(window="rolling", window_days=30, timezone="UTC")
    jan_1, jan_20, feb_15 = points(utc(2026, 1, 1), 300), points(utc(2026, 1, 20), 300), points(utc(2026, 2, 15), 300)

    together = resolve(prog, utc(2026, 1, 20), jan_1, jan_20)
    apart = resolve(prog, utc(2026, 2, 15), jan_1, feb_15)

    # Both count until Jan 31, when the first leaves the window; the hold lasts 30 days more.
    assert (together.tier, together.inputs["held_until"]) == ("silver", "2026-03-02T00:00:00+00:00")
    assert (apart.tier, apart.reason) == ("bronze", "below silver (300 < 500)")


# -- lifetime ------------------------------------------------------------------------------------


def test_lifetime_counts_everything_and_never_lapses():
    prog = program(window="lifetime")
    events = (points(ny(2019, 4, 1), 1_000), points(ny(2026, 2, 1), 600))

    decision = resolve(prog, ny(2031, 1, 1), *events)

    assert (decision.tier, decision.reason) == ("gold", "qualified: 1,600 points lifetime")
    assert decision.inputs["held_until"] is None
    assert resolve(prog, ny(2031, 1, 1), events[0]).tier == "silver"


# -- other metrics -------------------------------------------------------------------------------


def test_spend_metric_uses_exact_money():
    prog = program_from_mapping(
        {
            "tiers": {
                "metric": "spend",
                "window": "calendar_year",
                "levels": [{"id": "member", "threshold": 0}, {"id": "vip", "threshold": "250.00"}],
            }
        }
    )
    events = (
        QualifyingEvent(utc(2026, 1, 5), spend=Decimal("199.99"), orders=1),
        QualifyingEvent(utc(2026, 2, 5), spend=Decimal("50.01"), orders=1),
    )

    decision = resolve(prog, utc(2026, 3, 1), *events)
    short = resolve(prog, utc(2026, 1, 6), *events)

    assert (decision.tier, decision.reason) == ("vip", "qualified: 250.00 USD spend in 2026")
    assert decision.inputs["value"] == "250.00"
    assert decision.inputs["threshold"] == "250.00"
    json.dumps(decision.inputs)  # stored on the tier change event as JSON
    assert (short.tier, short.reason) == ("member", "below vip (199.99 < 250.00)")


def test_orders_metric_counts_orders():
    prog = program_from_mapping(
        {
            "tiers": {
                "metric": "orders",
                "window": "lifetime",
                "levels": [{"id": "bronze", "threshold": 0}, {"id": "silver", "threshold": 3}],
            }
        }
    )
    order = [QualifyingEvent(utc(2026, 1, day), points=10, spend=Decimal(5), orders=1) for day in (1, 2, 3)]

    assert resolve(prog, utc(2026, 2, 1), *order).reason == "qualified: 3 orders lifetime"
    assert resolve(prog, utc(2026, 2, 1), *order[:2]).reason == "below silver (2 < 3)"


# -- clawbacks -----------------------------------------------------------------------------------


def test_refund_of_the_order_that_earned_this_years_tier_takes_it_away():
    prog = program(window="calendar_year")
    order, clawback = points(ny(2026, 3, 1), 600), points(ny(2026, 4, 1), -600)

    assert resolve(prog, ny(2026, 3, 15), order).tier == "silver"
    decision = resolve(prog, ny(2026, 4, 1), order, clawback, clawback=True)
    assert (decision.tier, decision.reason) == ("bronze", "below silver (0 < 500)")


def test_refund_this_year_keeps_a_tier_earned_last_year():
    prog = program(window="calendar_year")
    events = (
        points(ny(2025, 5, 1), 600),  # silver, legitimately, in 2025
        points(ny(2026, 3, 1), 1_600),  # gold for a while in 2026...
        points(ny(2026, 4, 1), -1_600),  # ...until that order is refunded
    )

    assert resolve(prog, ny(2026, 3, 15), *events[:2]).tier == "gold"
    decision = resolve(prog, ny(2026, 4, 1), *events, clawback=True)
    assert (decision.tier, decision.reason) == ("silver", "held from 2025 until 2027-01-01")


def test_clawback_of_an_earlier_years_order_never_drops_below_the_base_tier():
    prog = program(window="calendar_year")

    decision = resolve(prog, ny(2026, 2, 1), points(ny(2026, 1, 10), -600), clawback=True)

    assert decision.tier == "bronze"


def test_rolling_clawback_dated_at_the_order_undoes_its_qualification():
    prog = program(window="rolling", window_days=30)
    order, clawback = points(utc(2026, 1, 10), 600), points(utc(2026, 1, 10), -600)

    assert resolve(prog, utc(2026, 1, 15), order).tier == "silver"
    assert resolve(prog, utc(2026, 1, 15), order, clawback, clawback=True).tier == "bronze"


# -- through the plugin host ---------------------------------------------------------------------


class GoldForStaff:
    @hookimpl
    def loyalty_resolve_tier(self, member, stats, program):
        if member.email and member.email.endswith("@example.com"):
            return TierDecision("gold", "staff", {})
        return None


@pytest.mark.parametrize("order", ["after", "before"])
def test_your_tier_plugin_decides_before_the_built_in_rule(order):
    mine = GoldForStaff()
    plugins = [tiers, rewards, mine] if order == "after" else [mine, tiers, rewards]
    host = PluginHost(plugins, builtins=False, entry_points=False)
    stats = TierStats(ny(2026, 3, 1), events=(points(ny(2026, 2, 1), 600),))
    staff = Member(id=2, shop_id="s", customer_id=None, email="ada@example.com", tier=None, enrolled_at=ny(2026, 1, 1))

    assert host.resolve_tier(staff, stats, program(window="calendar_year")) == TierDecision("gold", "staff", {})
    # Declining (None) leaves the decision to the built-in rule.
    assert host.resolve_tier(MEMBER, stats, program(window="calendar_year")).tier == "silver"


# -- the rolling sweep against the definition ----------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 60), st.integers(-700, 1_600)), max_size=8),
    st.integers(0, 90),
    st.integers(0, 10),
)
def test_rolling_tier_is_the_best_total_still_held(raw_events, as_of_day, grace):
    """tier(as_of) = best tier of the 20-day total at any moment t with as_of < t + 20 + grace days."""
    prog = program(window="rolling", window_days=20, grace_days=grace, timezone="UTC")
    start = utc(2026, 1, 1)
    events = [points(start + timedelta(days=day), amount) for day, amount in raw_events]
    as_of = start + timedelta(days=as_of_day, hours=12)

    def total_at(t):
        return sum(e.points for e in events if t - timedelta(days=20) < e.at <= t)

    # Totals only change on whole days and as_of is at noon, so every quarter day covers every step.
    moments = [as_of - timedelta(hours=6 * k) for k in range(4 * (20 + grace))]
    best = max((tiers.tier_by(prog.tiers.levels, total_at(t)) for t in moments), key=lambda level: level.threshold)

    assert resolve(prog, as_of, *events).tier == best.id
