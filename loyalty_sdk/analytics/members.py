"""Enrolled, active and churned members, and the share of customers who enrolled.

A member is *active* over a window when a transaction of theirs dated (``event_at``) inside it
earned (an order, even one earning nothing, or an activity) or redeemed points.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from attrs import frozen
from sqlalchemy import Select, case, exists, func, select

from loyalty_sdk.analytics.figures import Figures, rate
from loyalty_sdk.analytics.period import Period
from loyalty_sdk.analytics.purchases import customer_count
from loyalty_sdk.analytics.scope import Scope, scope_of
from loyalty_sdk.core.storage import members, transactions

ACTIVE_KINDS = ("earn", "activity", "redeem")
"""Transactions that make a member active: they earned, ordered or redeemed."""
ACTIVE_WINDOWS = (30, 90)
CHURN_LOOKBACK_DAYS = 90


def active_in(scope: Scope, since: datetime, until: datetime) -> Select:
    """The ids of members with an earn, activity or redemption dated in ``[since, until)``."""
    t = transactions.c
    return (select(t.member_id).where(t.shop_id == scope.shop_id, t.kind.in_(ACTIVE_KINDS), t.event_at >= since,
                                      t.event_at < until).distinct())


@frozen
class MemberFigures(Figures):
    """Members at the period's end, who was active before it, and who drifted away during it.

    ``churn_base``: members enrolled before the period who were active in the 90 days before it
    began; ``churned``: those of them not active at all during the period."""

    period: Period
    enrolled: int
    new_members: int
    active_30: int
    active_90: int
    active_rate_90: Decimal | None
    customers: int
    enrollment_rate: Decimal | None
    churn_base: int
    churned: int
    churn_rate: Decimal | None


def member_figures(source: object, period: Period | None = None) -> MemberFigures:
    """Member counts, activity, enrollment rate and churn for ``period``."""
    scope = scope_of(source)
    period = scope.period(period)
    m = members.c
    enrolled_by_end = m.enrolled_at < period.end
    counts = select(
        func.count(),
        func.sum(case((m.enrolled_at >= period.start, 1), else_=0)),
        *(func.sum(case((m.id.in_(active_in(scope, period.end - timedelta(days=days), period.end)), 1), else_=0))
          for days in ACTIVE_WINDOWS),
    ).where(m.shop_id == scope.shop_id, enrolled_by_end)
    base = active_in(scope, period.start - timedelta(days=CHURN_LOOKBACK_DAYS), period.start).subquery("base")
    t = transactions.c
    still_active = exists().where(t.shop_id == scope.shop_id, t.member_id == base.c.member_id,
                                  t.kind.in_(ACTIVE_KINDS), t.event_at >= period.start, t.event_at < period.end)
    churn = (
        select(func.count(), func.sum(case((still_active, 0), else_=1)))
        .select_from(base.join(members, m.id == base.c.member_id))
        .where(m.enrolled_at < period.start)
    )
    with scope.read() as conn:
        enrolled, new, active_30, active_90 = (int(v or 0) for v in conn.execute(counts).one())
        churn_base, churned = (int(v or 0) for v in conn.execute(churn).one())
    customers = customer_count(scope, period.end)
    return MemberFigures(
        period=period, enrolled=enrolled, new_members=new, active_30=active_30, active_90=active_90,
        active_rate_90=rate(active_90, enrolled), customers=customers, enrollment_rate=rate(enrolled, customers),
        churn_base=churn_base, churned=churned, churn_rate=rate(churned, churn_base),
    )


__all__ = ["ACTIVE_KINDS", "MemberFigures", "active_in", "member_figures"]
