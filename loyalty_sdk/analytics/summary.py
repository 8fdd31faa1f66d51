"""The headline figures of a period in one value, and the whole report (summary and every
breakdown) for the CLI, the HTML report, the REST API and the admin dashboard."""

from __future__ import annotations

from attrs import frozen

from loyalty_sdk.analytics.campaigns import Campaigns, campaign_lift
from loyalty_sdk.analytics.cohorts import Cohorts, cohorts
from loyalty_sdk.analytics.figures import Figures
from loyalty_sdk.analytics.members import MemberFigures, member_figures
from loyalty_sdk.analytics.period import Period
from loyalty_sdk.analytics.points import (
    Liability,
    LiabilitySeries,
    PointsFlow,
    liability,
    liability_over_time,
    points_flow,
)
from loyalty_sdk.analytics.purchases import Purchases, purchases
from loyalty_sdk.analytics.referrals import ReferralFigures, referral_figures
from loyalty_sdk.analytics.rules import RuleTotals, top_rules
from loyalty_sdk.analytics.scope import Scope, scope_of
from loyalty_sdk.analytics.tiers import Tiers, tier_distribution
from loyalty_sdk.core.money import Money

TOP_RULES = 10
"""Rules a report lists."""


@frozen
class Summary(Figures):
    """Members, purchases, points and liability of a period, and the customer lifetime value
    estimate: member average order value x member purchase frequency (orders per ordering
    member in the period) / churn rate (the expected lifetime, in periods)."""

    shop_id: str
    period: Period
    currency: str
    point_value: str
    members: MemberFigures
    purchases: Purchases
    points: PointsFlow
    liability: Liability
    lifetime_value: Money | None


def lifetime_value(scope: Scope, buyers: Purchases, people: MemberFigures) -> Money | None:
    group = buyers.members
    if group.average_order_value is None or group.purchase_frequency is None or not people.churn_rate:
        return None
    value = group.average_order_value.amount * group.purchase_frequency / people.churn_rate
    return Money(value, scope.currency).quantized()


def summary(source: object, period: Period | None = None) -> Summary:
    """The headline figures of ``period`` (default: the last twelve months) for one shop."""
    scope = scope_of(source)
    period = scope.period(period)
    people = member_figures(scope, period)
    buyers = purchases(scope, period)
    return Summary(
        shop_id=scope.shop_id, period=period, currency=scope.currency, point_value=str(scope.point_value),
        members=people, purchases=buyers, points=points_flow(scope, period), liability=liability(scope, period.end),
        lifetime_value=lifetime_value(scope, buyers, people),
    )


@frozen
class Report(Figures):
    """Everything analytics computes for a period."""

    summary: Summary
    cohorts: Cohorts
    liability: LiabilitySeries
    tiers: Tiers
    rules: RuleTotals
    campaigns: Campaigns
    referrals: ReferralFigures


def report(source: object, period: Period | None = None, rules: int | None = TOP_RULES) -> Report:
    """The summary and every breakdown of ``period``."""
    scope = scope_of(source)
    period = scope.period(period)
    return Report(summary(scope, period), cohorts(scope, period), liability_over_time(scope, period),
                  tier_distribution(scope, period), top_rules(scope, period, rules), campaign_lift(scope, period),
                  referral_figures(scope, period))


__all__ = ["TOP_RULES", "Report", "Summary", "lifetime_value", "report", "summary"]
