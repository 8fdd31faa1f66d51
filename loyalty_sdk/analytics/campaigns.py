"""Campaigns: the bonus points each gave and the lift it brought, each member against their own
baseline.

A campaign is measured over its window (from the program: ``starts`` to ``ends``, on the
shop's clock), cut at the moment of asking if it still runs; its *baseline* is the window of
the same length just before it starts. The members measured are those enrolled before the
baseline began, so each was a member through both windows. Lift compares their member orders
(and revenue) during the campaign with the same members' in the baseline: ``during / baseline
- 1``. Campaigns without both a start and an end, or that have not started, are not measured.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from attrs import frozen
from sqlalchemy import and_, case, func, select

from loyalty_sdk.analytics.figures import Figures, rate
from loyalty_sdk.analytics.period import Period
from loyalty_sdk.analytics.purchases import order_facts
from loyalty_sdk.analytics.rules import points_by_rule
from loyalty_sdk.analytics.scope import Scope, scope_of
from loyalty_sdk.core.money import Money
from loyalty_sdk.core.storage import members
from loyalty_sdk.plugins.multipliers import campaign_rule


@frozen
class CampaignLift(Figures):
    """One campaign: its window, bonus points, and its members' orders against their baseline."""

    campaign_id: str
    name: str | None
    starts: datetime
    ends: datetime
    baseline_starts: datetime
    bonus_points: int
    members: int
    ordering_members: int
    ordering_members_baseline: int
    orders: int
    orders_baseline: int
    order_lift: Decimal | None
    revenue: Money
    revenue_baseline: Money
    revenue_lift: Decimal | None


@frozen
class Campaigns(Figures):
    """The program's campaigns whose window overlaps the period, in the program's order."""

    period: Period
    campaigns: tuple[CampaignLift, ...]


def lift(during: int | Decimal, baseline: int | Decimal) -> Decimal | None:
    """``during / baseline - 1`` to four places; None without a baseline."""
    ratio = rate(during, baseline)
    return None if ratio is None else ratio - 1


def _measure(scope: Scope, campaign_id: str, name: str | None, starts: datetime, ends: datetime) -> CampaignLift:
    baseline = starts - (ends - starts)
    facts = order_facts(scope)
    m = members.c
    during = facts.c.placed_at >= starts
    priced = facts.c.currency == scope.currency
    cohort = select(func.count()).where(m.shop_id == scope.shop_id, m.enrolled_at < baseline)
    query = (
        select(
            func.count(func.distinct(case((during, facts.c.member_id)))),
            func.count(func.distinct(case((~during, facts.c.member_id)))),
            func.sum(case((during, 1), else_=0)), func.sum(case((~during, 1), else_=0)),
            func.sum(case((and_(during, priced), facts.c.gross_minor), else_=0)),
            func.sum(case((and_(~during, priced), facts.c.gross_minor), else_=0)),
        )
        .select_from(facts.join(members, m.id == facts.c.member_id))
        .where(m.enrolled_at < baseline, facts.c.is_member == 1, facts.c.placed_at >= baseline,
               facts.c.placed_at < ends)
    )
    with scope.read() as conn:
        people = int(conn.execute(cohort).scalar_one())
        buyers, buyers_before, orders, orders_before, revenue, revenue_before = (
            int(v or 0) for v in conn.execute(query).one())
    bonus = sum(r.points for r in points_by_rule(scope, starts, ends, f"campaign.{campaign_id}")
                if r.rule_id == f"campaign.{campaign_id}")
    return CampaignLift(
        campaign_id=campaign_id, name=name, starts=starts, ends=ends, baseline_starts=baseline, bonus_points=bonus,
        members=people, ordering_members=buyers, ordering_members_baseline=buyers_before, orders=orders,
        orders_baseline=orders_before, order_lift=lift(orders, orders_before), revenue=scope.money(revenue),
        revenue_baseline=scope.money(revenue_before), revenue_lift=lift(revenue, revenue_before),
    )


def campaign_lift(source: object, period: Period | None = None) -> Campaigns:
    """Bonus points and lift of every bounded campaign whose window overlaps ``period``."""
    scope = scope_of(source)
    period = scope.period(period)
    measured = []
    for campaign in scope.program.campaigns:
        rule = campaign_rule(campaign, scope.program)
        if rule.starts is None or rule.ends is None or rule.starts >= scope.now:
            continue
        if rule.starts >= period.end or rule.ends <= period.start:
            continue
        measured.append(_measure(scope, campaign.id, campaign.name, rule.starts, min(rule.ends, scope.now)))
    return Campaigns(period, tuple(measured))


__all__ = ["CampaignLift", "Campaigns", "campaign_lift", "lift"]
