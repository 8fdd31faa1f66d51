"""Points by the rule that awarded them, from the awards each earn and activity transaction
records (``detail.awards``: points, rule id, reason, line). Points are as awarded: a later
clawback is not charged back to a rule."""

from __future__ import annotations

from datetime import datetime

from attrs import frozen
from sqlalchemy import DateTime, bindparam, text

from loyalty_sdk.analytics.figures import Figures
from loyalty_sdk.analytics.period import Period
from loyalty_sdk.analytics.scope import Scope, scope_of

# The awards arrays unnested in SQL: json_each on SQLite, json_array_elements on PostgreSQL.
_AWARDS = {
    "sqlite": ("json_extract(a.value, '$[1]')", "json_extract(a.value, '$[0]')",
               "json_each(t.detail, '$.awards') AS a"),
    "postgresql": ("a.value ->> 1", "CAST(a.value ->> 0 AS BIGINT)",
                   "LATERAL json_array_elements(CAST(t.detail AS JSON) -> 'awards') AS a(value)"),
}


@frozen
class RulePoints(Figures):
    """A rule's points in the period, over how many transactions and members."""

    rule_id: str
    points: int
    transactions: int
    members: int


@frozen
class RuleTotals(Figures):
    """Points per rule in the period, most points first."""

    period: Period
    rules: tuple[RulePoints, ...]


def points_by_rule(scope: Scope, start: datetime, end: datetime, prefix: str = "") -> list[RulePoints]:
    """Per rule (whose id starts with ``prefix``): points awarded by earn and activity
    transactions dated in ``[start, end)``, most points first."""
    rule, points, unnest = _AWARDS["postgresql" if scope.db.dialect.name == "postgresql" else "sqlite"]
    query = text(
        f"SELECT {rule} AS rule_id, SUM({points}) AS points, COUNT(DISTINCT t.id) AS txns,"
        f" COUNT(DISTINCT t.member_id) AS people FROM transactions t, {unnest}"
        " WHERE t.shop_id = :shop AND t.kind IN ('earn', 'activity')"
        " AND t.event_at >= :start AND t.event_at < :end"
        f" AND substr({rule}, 1, :length) = :prefix GROUP BY 1 ORDER BY 2 DESC, 1"
    ).bindparams(bindparam("start", type_=DateTime(timezone=True)), bindparam("end", type_=DateTime(timezone=True)))
    with scope.read() as conn:
        rows = conn.execute(query, {"shop": scope.shop_id, "start": start, "end": end, "prefix": prefix,
                                   "length": len(prefix)})
        return [RulePoints(str(r.rule_id), int(r.points or 0), int(r.txns), int(r.people)) for r in rows]


def top_rules(source: object, period: Period | None = None, limit: int | None = None) -> RuleTotals:
    """The rules that awarded the most points during ``period`` (all of them, or ``limit``)."""
    scope = scope_of(source)
    period = scope.period(period)
    found = points_by_rule(scope, period.start, period.end)
    return RuleTotals(period, tuple(found[:limit] if limit is not None else found))


__all__ = ["RulePoints", "RuleTotals", "points_by_rule", "top_rules"]
