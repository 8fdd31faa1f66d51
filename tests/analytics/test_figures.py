"""Every figure of the hand-built history (tests/analytics/history.py), worked out on paper.

The period is [2026-01-01, 2026-06-01) UTC; "$" is USD; a point is worth $0.01.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from loyalty_sdk.analytics import (
    Period,
    campaign_lift,
    cohorts,
    liability,
    liability_over_time,
    member_figures,
    points_flow,
    purchases,
    summary,
    tier_distribution,
    top_rules,
)
from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.money import Money

from .history import PERIOD, at, order


def usd(amount: str) -> Money:
    return Money(amount, "USD")


def test_members_activity_enrollment_and_churn(store):
    m = member_figures(store, PERIOD)
    assert m.enrolled == 6  # E, F (2025) and A, B, C, D (2026)
    assert m.new_members == 4  # A 01-05, B 01-20, C 02-15, D 03-10
    # Last 30 days, [05-02, 06-01): nobody earned or redeemed (A's adjustment on 05-01 is neither).
    assert m.active_30 == 0
    # Last 90 days, [03-03, 06-01): C (c2 03-05, c3 04-15), D (d1, review, d2), F (f2 03-25), A (a3 04-10).
    # A's redemption on 03-01 falls before the window; B and E did nothing.
    assert m.active_90 == 4
    assert m.active_rate_90 == Decimal("0.6667")  # 4 / 6
    # Customers: the 6 members, and g, h@example.com, i who never enrolled (C's own order "cx" is C's).
    assert m.customers == 9
    assert m.enrollment_rate == Decimal("0.6667")  # 6 / 9
    # Active in the 90 days before 2026-01-01: E (e0 12-05) and F (f0 12-10); in the period only F was.
    assert (m.churn_base, m.churned, m.churn_rate) == (2, 1, Decimal("0.5000"))


def test_members_against_non_members(store):
    p = purchases(store, PERIOD)
    members = p.members
    # Member orders: a1 120, f1 15, b1 40, a2 30, c1 60 (refunded: gross still counts), d1 80, d2 20, f2 40,
    # a3 20, c3 100; c2 was cancelled and c0 was placed before C enrolled.
    assert members.orders == 10
    assert members.revenue == usd("525.00")  # 120+15+40+30+60+80+20+40+20+100
    assert members.customers == 5  # A, B, C, D, F
    assert members.repeat_customers == 4  # A (3), F (2), C (2), D (2); B bought once
    assert members.repeat_purchase_rate == Decimal("0.8000")  # 4 / 5
    assert members.purchase_frequency == Decimal("2.0000")  # 10 / 5
    assert members.average_order_value == usd("52.50")  # 525 / 10
    others = p.non_members
    # g1 20, g2 20, cx 5 (C before enrolling), c0 25 (ledger order before enrolling), h1 50; i1 is 2025.
    assert others.orders == 5
    assert others.revenue == usd("120.00")
    assert others.customers == 3  # g, C, h@example.com
    assert others.repeat_customers == 2  # g and C bought twice
    assert others.repeat_purchase_rate == Decimal("0.6667")  # 2 / 3
    assert others.purchase_frequency == Decimal("1.6667")  # 5 / 3
    assert others.average_order_value == usd("24.00")  # 120 / 5
    assert p.member_revenue_share == Decimal("0.8140")  # 525 / 645 = 0.81395...


def test_points_flows_redemption_rate_and_breakage(store):
    f = points_flow(store, PERIOD)
    # Earned in the period: a1 120, f1 15, b1 40, c0 25, a2 30, c1 60, c2 10, d1 80, review 50, d2 20, f2 40,
    # a3 40 (20 + 20 campaign), c3 200 (100 + 100 campaign).
    assert f.issued == 730
    assert f.redeemed == 100  # A's coffee
    assert f.clawed_back == 70  # c1 refunded (60) and c2 cancelled (10)
    assert f.adjusted == 10
    # Expired by the 04-01 run (60-day lots): e0 10 (02-03), f0 30 (02-08), the 20 left of a1 after the
    # coffee (03-11), f1 15 (03-16), b1 40 (03-26). c0's lot expires 04-02, after the run.
    assert f.expired == 115
    assert f.redemption_rate == Decimal("0.1370")  # 100 / 730 = 0.13698...
    assert f.issued_to_date == 770  # 730 + e0 10 + f0 30 in December
    assert (f.redeemed_to_date, f.expired_to_date) == (100, 115)
    assert f.breakage == Decimal("0.5349")  # 115 / (115 + 100) = 0.53488...


def test_liability_now_and_at_each_month_end(store):
    # 770 issued + 10 adjusted - 100 redeemed - 115 expired - 70 clawed back = 495 points, $4.95.
    end = liability(store, PERIOD.end)
    assert (end.available, end.pending, end.outstanding, end.value) == (495, 0, 495, usd("4.95"))
    assert liability(store).outstanding == 495  # read on 06-15: nothing happened since
    series = liability_over_time(store, PERIOD).points
    assert [p.at.month for p in series] == [1, 2, 3, 4, 5, 6]
    assert [p.outstanding for p in series] == [
        40,  # 01-01: e0 10 + f0 30
        215,  # 02-01: + a1 120 + f1 15 + b1 40
        230,  # 03-01: - 10 - 30 expired + c0 25 + a2 30 + c1 60 - 60 refunded
        245,  # 04-01: - 100 coffee + c2 10 - 10 + d1 80 + 50 review + d2 20 + f2 40 - 20 - 15 - 40 expired
        485,  # 05-01: + a3 40 + c3 200
        495,  # 06-01: + 10 adjustment
    ]
    assert series[-1].value == usd("4.95")
    with pytest.raises(InvalidInput):
        liability(store, datetime(2026, 6, 1))


def test_cohort_triangle(store):
    c = cohorts(store, PERIOD)
    assert c.months == ("2026-01", "2026-02", "2026-03", "2026-04", "2026-05")
    rows = {row.month: row for row in c.cohorts}
    # January: A and B. Jan: a1, b1; Feb: a2; Mar: none (A only redeemed); Apr: a3; May: none.
    assert (rows["2026-01"].members, rows["2026-01"].retained) == (2, (2, 1, 0, 1, 0))
    assert rows["2026-01"].rates == (Decimal("1.0000"), Decimal("0.5000"), Decimal("0.0000"), Decimal("0.5000"),
                                     Decimal("0.0000"))
    # February: C. Feb: c1 (c0 predates enrolling); Mar: c2 was cancelled; Apr: c3.
    assert (rows["2026-02"].members, rows["2026-02"].retained) == (1, (1, 0, 1, 0))
    assert (rows["2026-03"].members, rows["2026-03"].retained) == (1, (1, 0, 0))  # D: d1, d2 in March
    assert (rows["2026-04"].members, rows["2026-04"].retained, rows["2026-04"].rates) == (0, (0, 0), (None, None))
    assert len(rows["2026-05"].retained) == 1


def test_tiers_at_the_end_and_movements(store):
    t = tier_distribution(store, PERIOD)
    # Silver from 100 lifetime points: A (a1 120, 01-10), D (80 + 50 review, 03-15), C (25 + 200, 04-15).
    # F has 85, B 40, E 10: bronze.
    assert t.distribution == {"bronze": 3, "silver": 3}
    moves = {(m.from_tier, m.to_tier): (m.members, m.changes, m.direction) for m in t.movements}
    assert moves == {("none", "bronze"): (4, 4, "up"),  # A, B, C, D enrolled in the period
                     ("bronze", "silver"): (3, 3, "up")}
    assert (t.upgrades, t.downgrades) == (7, 0)
    # At 2026-02-01 only A had reached silver; E, F, B were bronze.
    early = tier_distribution(store, Period(PERIOD.start, datetime(2026, 2, 1, tzinfo=UTC)))
    assert early.distribution == {"bronze": 3, "silver": 1}


def test_points_by_rule_and_campaign_lift(store):
    rules = {r.rule_id: (r.points, r.transactions, r.members) for r in top_rules(store, PERIOD).rules}
    assert rules == {
        "earn.spend": (560, 12, 5),  # 730 issued - 120 campaign - 50 review; the 12 orders of A, B, C, D, F
        "campaign.double": (120, 2, 2),  # a3 +20, c3 +100
        "activity.review": (50, 1, 1),
    }
    assert [r.rule_id for r in top_rules(store, PERIOD, limit=1).rules] == ["earn.spend"]
    (double,) = campaign_lift(store, PERIOD).campaigns
    # Through 04-30, on UTC: [04-01, 05-01), 30 days; the baseline is [03-02, 04-01).
    assert (double.starts, double.ends, double.baseline_starts) == (
        datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))
    assert double.members == 5  # E, F, A, B, C enrolled before 03-02; D joined 03-10
    assert double.bonus_points == 120
    # Baseline: f2 $40 (c2 was cancelled); during: a3 $20, c3 $100.
    assert (double.orders_baseline, double.orders) == (1, 2)
    assert (double.ordering_members_baseline, double.ordering_members) == (1, 2)
    assert (double.revenue_baseline, double.revenue) == (usd("40.00"), usd("120.00"))
    assert double.order_lift == Decimal("1.0000")  # 2 / 1 - 1
    assert double.revenue_lift == Decimal("2.0000")  # 120 / 40 - 1
    assert campaign_lift(store, Period(PERIOD.start, datetime(2026, 3, 1, tzinfo=UTC))).campaigns == ()


def test_summary_and_lifetime_value(store):
    s = summary(store, PERIOD)
    assert s.lifetime_value == usd("210.00")  # $52.50 a member order x 2 orders per member / 0.5 churn
    assert s.liability.value == usd("4.95")
    data = s.as_dict()
    assert data["period"] == {"start": "2026-01-01T00:00:00+00:00", "end": "2026-06-01T00:00:00+00:00"}
    assert data["purchases"]["members"]["average_order_value"] == {"amount": "52.50", "currency": "USD"}
    assert data["members"]["churn_rate"] == "0.5000"
    assert data["points"]["issued"] == 730


def test_default_period_is_twelve_months_to_now(store):
    # Read on 2026-06-15: from 2025-07-01 to now.
    s = summary(store)
    assert (s.period.start, s.period.end) == (datetime(2025, 7, 1, tzinfo=UTC), datetime(2026, 6, 15, tzinfo=UTC))
    assert s.members.new_members == 6


def test_an_empty_shop_has_no_rates(loyalty_at):
    s = summary(loyalty_at(), PERIOD)
    assert (s.members.enrolled, s.members.enrollment_rate, s.members.churn_rate) == (0, None, None)
    assert s.purchases.members.average_order_value is None
    assert (s.points.redemption_rate, s.points.breakage, s.lifetime_value) == (None, None, None)
    assert s.liability.value == usd("0.00")


def test_non_member_orders_are_refused_for_members_and_replay(store, clock):
    with pytest.raises(InvalidInput, match="record_order"):
        store.record_non_member_order(order("late", "A", at(2026, 6, 1), "9.00"))
    assert store.record_non_member_order(order("g1", "g", at(2026, 1, 7), "20.00")) is False  # recorded before
    assert store.record_non_member_order(order("a1", "z", at(2026, 1, 7), "20.00")) is False  # a ledger order
    assert purchases(store, PERIOD).non_members.orders == 5
