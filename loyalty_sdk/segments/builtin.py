"""The built-in segments. Every one is plain SQL (SQLAlchemy Core) that runs the same on
SQLite and PostgreSQL, evaluated at a moment ``as_of`` (default: now):

``tier-<id>``
    Members holding tier ``<id>`` (one segment per tier of the program). Figure: ``tier_since``.
``rfm``
    Recency, frequency and monetary scores, 1 (lowest) to 5 (highest), over the orders placed in
    the ``days`` (365) before ``as_of``; members without such an order are not in it. A
    member's score on a measure is ``1 + floor(5 * (rank - 1) / n)``, where ``n`` is the number
    of members scored and ``rank`` their rank on the measure from the lowest value up (ties
    share the lowest rank, so equal values get equal scores): quintiles that never split
    ties. Recency ranks the last order's time (the most recent scores 5), frequency the number
    of orders, monetary the gross of the orders in the program's currency (before refunds).
    ``min_r``, ``min_f`` and ``min_m`` (1) keep members scoring at least that. Figures:
    ``last_order_at``, ``orders``, ``spend``, ``r``, ``f``, ``m`` and ``rfm`` ("545").
``at-risk``
    Members with two orders or more whose last order is at least ``days`` (60) days before
    ``as_of`` while their usual gap between orders, the mean ((last - first) / (orders - 1)),
    is shorter than ``days``. Figures: ``last_order_at``, ``orders``, ``days_since_order`` and
    ``usual_gap_days`` (whole days, rounded down).
``points-expiring``
    Members with available points in lots that expire after ``as_of`` and within ``days`` (30)
    of it. Figures: ``expiring_points`` and ``first_expiry``.
``near-next-tier``
    Members whose total in the tier metric for the current period (this calendar year in the
    program's time zone, the rolling window, or lifetime, as ``[tiers]`` says) is below the
    threshold of the tier above the one they hold by at most ``pct`` (10) percent of that
    threshold. Figures: ``next_tier``, ``current``, ``threshold`` and ``needed`` (spend in the
    program's currency; points and orders as counts).
``never-redeemed``
    Members who never redeemed a reward (redemptions reversed, voided or failed do not count),
    holding at least ``min_points`` (0) available points. Figures: ``enrolled_at``,
    ``lifetime_points``.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import case, exists, func, literal, select
from sqlalchemy.sql import Select

from loyalty_sdk.core.ledger import utc
from loyalty_sdk.core.money import MINOR_UNITS
from loyalty_sdk.core.program import Program
from loyalty_sdk.core.storage import LOT_AVAILABLE, lots, members, orders, redemptions, transactions
from loyalty_sdk.segments.model import Segment, SegmentContext

DAY = 86400
REDEEMED = ("pending", "issued", "used")
"""Redemption statuses that mean the member did redeem."""


def _money(minor: int | None, program: Program) -> str | None:
    if minor is None:
        return None
    return str(Decimal(int(minor)).scaleb(-MINOR_UNITS[program.program.currency]))


# -- tiers ----------------------------------------------------------------------------------------


def _tier_segment(tier_id: str, name: str | None) -> Segment:
    def query(ctx: SegmentContext) -> Select[Any]:
        m = members.c
        return select(m.id.label("member_id"), m.tier_since).where(m.shop_id == ctx.shop_id, m.tier == tier_id)

    return Segment(f"tier-{tier_id}", f"Members in the {name or tier_id} tier.", query)


# -- orders: RFM and at risk ------------------------------------------------------------------------


def _order_stats(ctx: SegmentContext, since: datetime | None = None) -> Select[Any]:
    """Per member: orders, first and last order time, and gross in the program's currency."""
    o = orders.c
    spend = func.sum(case((o.currency == ctx.program.program.currency, o.gross_minor), else_=0))
    query = (select(o.member_id, func.count().label("orders"), func.min(o.placed_at).label("first_order_at"),
                    func.max(o.placed_at).label("last_order_at"), spend.label("spend_minor"))
             .where(o.shop_id == ctx.shop_id, o.placed_at <= utc(ctx.as_of)).group_by(o.member_id))
    if since is not None:
        query = query.where(o.placed_at > utc(since))
    return query


def _rfm(ctx: SegmentContext) -> Select[Any]:
    stats = _order_stats(ctx, ctx.as_of - timedelta(days=int(ctx.params["days"]))).subquery("stats")
    scored_count = func.count().over()

    def score(measure: Any) -> Any:
        return literal(1) + (literal(5) * (func.rank().over(order_by=measure) - 1)) // scored_count

    scored = select(stats.c.member_id, stats.c.last_order_at, stats.c.orders, stats.c.spend_minor,
                    score(stats.c.last_order_at).label("r"), score(stats.c.orders).label("f"),
                    score(stats.c.spend_minor).label("m")).subquery("scored")
    p = ctx.params
    return select(scored).where(scored.c.r >= p["min_r"], scored.c.f >= p["min_f"], scored.c.m >= p["min_m"])


def _finish_rfm(row: dict[str, Any], ctx: SegmentContext) -> dict[str, Any]:
    row["spend"] = _money(row.pop("spend_minor"), ctx.program)
    row["rfm"] = f"{row['r']}{row['f']}{row['m']}"
    return row


def _at_risk(ctx: SegmentContext) -> Select[Any]:
    stats = _order_stats(ctx).subquery("stats")
    days = int(ctx.params["days"])
    span = ctx.epoch(stats.c.last_order_at) - ctx.epoch(stats.c.first_order_at)
    return select(
        stats.c.member_id, stats.c.last_order_at, stats.c.orders,
        ((ctx.now_epoch() - ctx.epoch(stats.c.last_order_at)) // DAY).label("days_since_order"),
        (span // (DAY * (stats.c.orders - 1))).label("usual_gap_days"),
    ).where(
        stats.c.orders >= 2,
        stats.c.last_order_at <= utc(ctx.as_of - timedelta(days=days)),
        # mean gap < days, without dividing: (last - first) < days * (orders - 1)
        span < days * DAY * (stats.c.orders - 1),
    )


# -- points -----------------------------------------------------------------------------------------


def _points_expiring(ctx: SegmentContext) -> Select[Any]:
    lot = lots.c
    horizon = ctx.as_of + timedelta(days=int(ctx.params["days"]))
    return (select(lot.member_id, func.sum(lot.remaining).label("expiring_points"),
                   func.min(lot.expires_at).label("first_expiry"))
            .where(lot.shop_id == ctx.shop_id, LOT_AVAILABLE, lot.remaining > 0, lot.expires_at.is_not(None),
                   lot.expires_at > utc(ctx.as_of), lot.expires_at <= utc(horizon))
            .group_by(lot.member_id))


def _period_start(program: Program, as_of: datetime) -> datetime | None:
    tiers = program.tiers
    if tiers.window == "lifetime":
        return None
    if tiers.window == "rolling":
        return as_of - timedelta(days=tiers.window_days)
    return datetime(as_of.astimezone(program.zone).year, 1, 1, tzinfo=program.zone)


def _near_next_tier(ctx: SegmentContext) -> Select[Any]:
    program = ctx.program
    tiers = program.tiers
    scale = 10 ** MINOR_UNITS[program.program.currency] if tiers.metric == "spend" else 1
    units = [int(level.threshold * scale) for level in tiers.levels]
    pct = Decimal(ctx.params["pct"])
    m, t = members.c, transactions.c
    column = {"points": t.tier_points, "spend": t.tier_spend_minor, "orders": t.tier_orders}[tiers.metric]
    period = select(t.member_id, func.sum(column).label("current")).where(
        t.shop_id == ctx.shop_id, t.tier_at <= utc(ctx.as_of)).group_by(t.member_id)
    start = _period_start(program, ctx.as_of)
    if start is not None:
        period = period.where(t.tier_at > utc(start))
    totals = period.subquery("totals")
    # The tier above each one held (none above the top); with no tier, the first one above zero.
    nexts = [(m.tier == level.id, i + 1) for i, level in enumerate(tiers.levels[:-1])]
    first = next((i for i, threshold in enumerate(units) if threshold > 0), None)
    if first is not None:
        nexts.append((m.tier.is_(None), first))
    if not nexts:
        return select(m.id.label("member_id")).where(literal(False))
    rank = case(*nexts, else_=None)
    threshold = case(*((rank == i, units[i]) for i in range(len(units))), else_=None)
    lower = case(*((rank == i, math.ceil(units[i] * (100 - pct) / 100)) for i in range(len(units))), else_=None)
    next_tier = case(*((rank == i, tiers.levels[i].id) for i in range(len(units))), else_=None)
    current = func.coalesce(totals.c.current, 0)
    near = (select(m.id.label("member_id"), next_tier.label("next_tier"), current.label("current"),
                   threshold.label("threshold"))
            .select_from(members.outerjoin(totals, totals.c.member_id == m.id))
            .where(m.shop_id == ctx.shop_id, rank.is_not(None), threshold > 0, current >= lower, current < threshold))
    return near


def _finish_near(row: dict[str, Any], ctx: SegmentContext) -> dict[str, Any]:
    needed = row["threshold"] - row["current"]
    if ctx.program.tiers.metric == "spend":
        row.update(current=_money(row["current"], ctx.program), threshold=_money(row["threshold"], ctx.program),
                   needed=_money(needed, ctx.program))
    else:
        row["needed"] = needed
    return row


def _never_redeemed(ctx: SegmentContext) -> Select[Any]:
    m, r = members.c, redemptions.c
    redeemed = exists().where(r.shop_id == ctx.shop_id, r.member_id == m.id, r.status.in_(REDEEMED))
    return select(m.id.label("member_id"), m.enrolled_at, m.lifetime_points).where(
        m.shop_id == ctx.shop_id, ~redeemed, m.available >= int(ctx.params["min_points"]))


def builtin_segments(program: Program) -> list[Segment]:
    tier_segments = [_tier_segment(level.id, level.name) for level in program.tiers.levels]
    return [
        *tier_segments,
        Segment("rfm", "Recency, frequency and monetary scores (quintiles, 1-5) over the orders of the last `days`.",
                _rfm, {"days": 365, "min_r": 1, "min_f": 1, "min_m": 1}, _finish_rfm,
                ("last_order_at", "orders", "spend", "r", "f", "m", "rfm")),
        Segment("at-risk", "No order for `days` days although they usually ordered more often than that.",
                _at_risk, {"days": 60}),
        Segment("points-expiring", "Points expiring within `days` days.", _points_expiring, {"days": 30}),
        Segment("near-next-tier", "Within `pct` percent of the next tier's threshold.", _near_next_tier,
                {"pct": Decimal(10)}, _finish_near, ("next_tier", "current", "threshold", "needed")),
        Segment("never-redeemed", "Never redeemed a reward (and hold at least `min_points`).", _never_redeemed,
                {"min_points": 0}),
    ]


__all__ = ["builtin_segments"]
