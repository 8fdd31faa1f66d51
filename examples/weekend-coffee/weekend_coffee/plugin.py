"""The hooks: a weekend multiplier on one collection, and a tier reached by order count."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import ROUND_FLOOR

from loyalty_sdk import hookimpl
from loyalty_sdk.core.models import Award, Member, Order, TierDecision, TierStats
from loyalty_sdk.core.program import Program
from loyalty_sdk.plugins.tiers import decide
from weekend_coffee.settings import settings

RULE_ID = "weekend-coffee"
SATURDAY = 5


@hookimpl
def loyalty_adjust_awards(awards: Sequence[Award], order: Order, member: Member,
                          program: Program) -> list[Award] | None:
    """The part of the multiplier above 1, on each award of a line in the collection."""
    config = settings(program)
    if config is None or order.placed_at.astimezone(program.zone).weekday() < SATURDAY:
        return None
    lines = {line.line_id for line in order.lines if config.collection in line.collections}
    bonus = []
    for award in awards:
        if award.line_id in lines and award.points > 0:
            points = int((award.points * (config.multiplier - 1)).to_integral_value(ROUND_FLOOR))
            if points:
                # Keep the line: a refund of that line takes its weekend points back too.
                bonus.append(Award(points, f"weekend {config.collection} x{config.multiplier}", RULE_ID,
                                   award.line_id))
    return bonus


@hookimpl
def loyalty_resolve_tier(member: Member, stats: TierStats, program: Program) -> TierDecision | None:
    """The configured tier after enough orders in the window, unless the built-in rule gives a
    higher one; None (the built-in rule decides) otherwise."""
    config = settings(program)
    if config is None or config.tier is None:
        return None
    start = stats.as_of - timedelta(days=config.days)
    orders = sum(event.orders for event in stats.events if start < event.at <= stats.as_of)
    if orders < config.orders:
        return None
    builtin = decide(stats, program)
    ranks = [level.id for level in program.tiers.levels]
    if builtin.tier is not None and ranks.index(builtin.tier) > ranks.index(config.tier):
        return builtin  # a regular who also earned a higher tier keeps it
    return TierDecision(config.tier, f"{orders} orders in {config.days} days",
                        {"orders": orders, "days": config.days, "required": config.orders})
