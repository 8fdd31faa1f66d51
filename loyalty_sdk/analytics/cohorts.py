"""Retention by monthly cohort: of the members who enrolled in a month, how many bought again
in each month after.

A cohort is the members enrolled in one local month of the period. Month 0 is the enrollment
month itself; a member is *retained* in month k when they placed at least one member order
(see :mod:`.purchases`: not cancelled, placed at or after enrollment) in the k-th month after
it. The triangle stops at the period's end, so its last column can be a partial month.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from attrs import frozen
from sqlalchemy import case, func, literal, select

from loyalty_sdk.analytics.figures import Figures, rate
from loyalty_sdk.analytics.period import Period, month_label, month_starts
from loyalty_sdk.analytics.purchases import order_facts
from loyalty_sdk.analytics.scope import scope_of
from loyalty_sdk.core.storage import members


def month_index(column: Any, starts: Sequence[datetime]) -> Any:
    """SQL: which of the months beginning at ``starts`` holds ``column`` (0 for the first, and
    for anything before it; the last for anything after)."""
    if len(starts) == 1:
        return literal(0)
    return case(*((column < start, index) for index, start in enumerate(starts[1:])), else_=len(starts) - 1)


@frozen
class Cohort(Figures):
    """One enrollment month: its size, then members retained and the rate, month by month."""

    month: str
    start: datetime
    members: int
    retained: tuple[int, ...]
    rates: tuple[Decimal | None, ...]


@frozen
class Cohorts(Figures):
    """The cohort triangle of a period: ``cohorts[i].retained[k]`` is month k after cohort i."""

    period: Period
    months: tuple[str, ...]
    cohorts: tuple[Cohort, ...]


def cohorts(source: object, period: Period | None = None) -> Cohorts:
    """Monthly enrollment cohorts of ``period`` and their retention, as a triangle."""
    scope = scope_of(source)
    period = scope.period(period)
    starts = month_starts(period, scope.zone)
    m = members.c
    in_period = (m.shop_id == scope.shop_id, m.enrolled_at >= period.start, m.enrolled_at < period.end)
    cohort = month_index(m.enrolled_at, starts)
    sizes = select(cohort, func.count()).where(*in_period).group_by(cohort)
    facts = order_facts(scope)
    ordered = month_index(facts.c.placed_at, starts)
    retained = (
        select(cohort, ordered, func.count(func.distinct(facts.c.member_id)))
        .select_from(facts.join(members, m.id == facts.c.member_id))
        .where(*in_period, facts.c.is_member == 1, facts.c.placed_at < period.end)
        .group_by(cohort, ordered)
    )
    with scope.read() as conn:
        size = {int(i): int(n) for i, n in conn.execute(sizes)}
        seen = {(int(i), int(j)): int(n) for i, j, n in conn.execute(retained)}
    rows = []
    for i, start in enumerate(starts):
        kept = tuple(seen.get((i, j), 0) for j in range(i, len(starts)))
        rows.append(Cohort(month_label(start, scope.zone), start, size.get(i, 0), kept,
                           tuple(rate(n, size.get(i, 0)) for n in kept)))
    return Cohorts(period, tuple(month_label(s, scope.zone) for s in starts), tuple(rows))


__all__ = ["Cohort", "Cohorts", "cohorts", "month_index"]
