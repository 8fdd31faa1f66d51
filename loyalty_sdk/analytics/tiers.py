"""Tier distribution at an instant and tier movements over a period, from the recorded tier
changes (a member's tier at an instant is the ``to_tier`` of their last change before it)."""

from __future__ import annotations

from datetime import datetime

from attrs import frozen
from sqlalchemy import and_, func, literal_column, select

from loyalty_sdk.analytics.figures import Figures
from loyalty_sdk.analytics.period import Period
from loyalty_sdk.analytics.scope import scope_of
from loyalty_sdk.core.storage import members, tier_changes

NO_TIER = "none"
# A literal, not a parameter: PostgreSQL matches GROUP BY expressions by their text.
_NO_TIER_SQL = literal_column(f"'{NO_TIER}'")


@frozen
class TierMovement(Figures):
    """How many members moved from one tier to another; ``direction`` is ``up``, ``down``
    (by the program's tier order; no tier is below every tier) or ``same``."""

    from_tier: str
    to_tier: str
    members: int
    changes: int
    direction: str


@frozen
class Tiers(Figures):
    """Members per tier at the period's end (program order, then ``none``), and the tier
    changes dated in the period."""

    period: Period
    at: datetime
    distribution: dict[str, int]
    movements: tuple[TierMovement, ...]
    upgrades: int
    downgrades: int


def tier_distribution(source: object, period: Period | None = None) -> Tiers:
    """Who holds which tier at the end of ``period``, and how members moved during it."""
    scope = scope_of(source)
    period = scope.period(period)
    tc, m = tier_changes.c, members.c
    ranked = (
        select(tc.member_id, tc.to_tier, func.row_number().over(
            partition_by=tc.member_id, order_by=(tc.as_of.desc(), tc.id.desc())).label("latest"))
        .where(tc.shop_id == scope.shop_id, tc.as_of < period.end)
        .subquery("ranked")
    )
    tier = func.coalesce(ranked.c.to_tier, _NO_TIER_SQL)
    held = (
        select(tier, func.count())
        .select_from(members.outerjoin(ranked, and_(ranked.c.member_id == m.id, ranked.c.latest == 1)))
        .where(m.shop_id == scope.shop_id, m.enrolled_at < period.end)
        .group_by(tier)
    )
    source_tier = func.coalesce(tc.from_tier, _NO_TIER_SQL)
    target_tier = func.coalesce(tc.to_tier, _NO_TIER_SQL)
    moved = (
        select(source_tier, target_tier, func.count(func.distinct(tc.member_id)), func.count())
        .where(tc.shop_id == scope.shop_id, tc.as_of >= period.start, tc.as_of < period.end)
        .group_by(source_tier, target_tier)
    )
    levels = [level.id for level in scope.program.tiers.levels]
    with scope.read() as conn:
        counts = {str(t): int(n) for t, n in conn.execute(held)}
        rows = conn.execute(moved).all()
    distribution = {tier_id: counts.pop(tier_id, 0) for tier_id in levels}
    distribution.update(sorted(counts.items()))  # tiers no longer in the program, and "none"
    rank = {tier_id: i for i, tier_id in enumerate(levels)}
    movements = []
    for from_tier, to_tier, people, changes in rows:
        before, after = rank.get(from_tier, -1), rank.get(to_tier, -1)
        direction = "up" if after > before else "down" if after < before else "same"
        movements.append(TierMovement(from_tier, to_tier, int(people), int(changes), direction))
    movements.sort(key=lambda mv: (-mv.changes, mv.from_tier, mv.to_tier))
    return Tiers(period, period.end, distribution, tuple(movements),
                 sum(mv.changes for mv in movements if mv.direction == "up"),
                 sum(mv.changes for mv in movements if mv.direction == "down"))


__all__ = ["NO_TIER", "TierMovement", "Tiers", "tier_distribution"]
