"""The per-order points cap: no order earns more than ``earn.max_points_per_order``.

The cap counts everything the order earns, base points and every bonus (campaigns, tiers, your
own plugins' bonuses). When the total is over the cap, ``cap.order`` awards take the excess
back, shared across the order's lines in proportion to what each earned, so the order earns
exactly the cap and a refund of one line takes back only that line's capped share.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

from loyalty_sdk.core.allocation import split_int
from loyalty_sdk.core.hookspecs import hookimpl
from loyalty_sdk.core.models import Award, Member, Order
from loyalty_sdk.core.program import Program

RULE_ID = "cap.order"


def cap_awards(awards: Sequence[Award], cap: int) -> list[Award]:
    """Negative ``cap.order`` awards that bring the total of ``awards`` down to ``cap``, if over."""
    by_line: dict[str | None, int] = {}
    for award in awards:
        by_line[award.line_id] = by_line.get(award.line_id, 0) + award.points
    excess = sum(by_line.values()) - cap
    if excess <= 0:
        return []
    reason = f"capped at {cap} points per order"
    parts = split_int(-excess, [max(points, 0) for points in by_line.values()])
    return [Award(part, reason, RULE_ID, line_id) for line_id, part in zip(by_line, parts, strict=True) if part]


# Outermost wrapper (tryfirst), so the cap also sees what other wrappers add.
@hookimpl(wrapper=True, tryfirst=True)
def loyalty_adjust_awards(
    awards: Sequence[Award], order: Order, member: Member, program: Program
) -> Generator[None, list[Any], list[Any]]:
    """Pass every bonus through, plus ``cap.order`` awards when the order is over its cap."""
    result = yield
    cap = program.earn.max_points_per_order
    if cap is None:
        return result
    # Anything but an Award is left for the host to reject with a clear error.
    extra = [award for part in result if part for award in part if isinstance(award, Award)]
    reduction = cap_awards([*awards, *extra], cap)
    return [*result, reduction] if reduction else result
