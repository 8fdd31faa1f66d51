"""Referral figures: how many friends used members' codes, how many became customers, and
what it cost and brought in. Counted by when the friend was referred, like a cohort, so a
period's figures keep maturing as its friends' orders arrive."""

from __future__ import annotations

from decimal import Decimal

from attrs import frozen
from sqlalchemy import and_, case, func, select

from loyalty_sdk.analytics.figures import Figures, rate
from loyalty_sdk.analytics.period import Period
from loyalty_sdk.analytics.scope import scope_of
from loyalty_sdk.core.money import Money
from loyalty_sdk.core.storage import orders, referrals

CONVERTED = ("qualified", "rewarded", "void")
"""A friend who placed a qualifying order converted, even if it was later refunded."""


@frozen
class ReferralFigures(Figures):
    """Referrals made in the period.

    ``used``: codes used by friends (referrals not refused). ``converted``: of those, friends
    who placed a qualifying order; ``conversion_rate`` = converted / used. ``rewarded``:
    referrers rewarded so far; ``void``: qualifying orders refunded or cancelled in their
    window. ``refused``: referrals refused, with the count per reason. ``points``: the
    friends' bonuses (not taken back) plus the referrers' rewards, and ``cost`` their worth at
    the program's point value. ``first_orders_revenue``: the qualifying orders'
    merchandise; ``friends_revenue``: everything the referred friends bought since their
    referral (both in the program's currency only)."""

    period: Period
    used: int
    converted: int
    conversion_rate: Decimal | None
    rewarded: int
    void: int
    refused: int
    refused_reasons: dict[str, int]
    points: int
    cost: Money
    first_orders_revenue: Money
    friends_revenue: Money


def referral_figures(source: object, period: Period | None = None) -> ReferralFigures:
    """The referral figures of ``period`` (default: the last twelve months)."""
    scope = scope_of(source)
    period = scope.period(period)
    r = referrals.c
    made = and_(r.shop_id == scope.shop_id, r.referred_at >= period.start, r.referred_at < period.end)
    standing = r.status != "refused"
    totals = select(
        func.coalesce(func.sum(case((standing, 1), else_=0)), 0),
        func.coalesce(func.sum(case((r.status.in_(CONVERTED), 1), else_=0)), 0),
        func.coalesce(func.sum(case((r.status == "rewarded", 1), else_=0)), 0),
        func.coalesce(func.sum(case((r.status == "void", 1), else_=0)), 0),
        func.coalesce(func.sum(case((r.status == "void", 0), else_=r.referee_points) + r.referrer_points), 0),
        func.coalesce(func.sum(case((r.currency == scope.currency, r.revenue_minor), else_=0)), 0),
    ).where(made)
    reasons = select(r.reason, func.count()).where(made, r.status == "refused").group_by(r.reason)
    o = orders.c
    bought = (select(func.coalesce(func.sum(o.gross_minor), 0))
              .select_from(orders.join(referrals, and_(r.shop_id == o.shop_id, r.referee_id == o.member_id)))
              .where(made, standing, o.shop_id == scope.shop_id, o.placed_at >= r.referred_at,
                     o.currency == scope.currency))
    with scope.read() as conn:
        used, converted, rewarded, void, points, first_minor = (int(v) for v in conn.execute(totals).one())
        refused_reasons = {reason or "": int(count) for reason, count in conn.execute(reasons)}
        friends_minor = int(conn.execute(bought).scalar_one())
    return ReferralFigures(
        period=period, used=used, converted=converted, conversion_rate=rate(converted, used), rewarded=rewarded,
        void=void, refused=sum(refused_reasons.values()),
        refused_reasons=dict(sorted(refused_reasons.items(), key=lambda item: (-item[1], item[0]))),
        points=points, cost=scope.worth(points), first_orders_revenue=scope.money(first_minor),
        friends_revenue=scope.money(friends_minor),
    )


__all__ = ["ReferralFigures", "referral_figures"]
