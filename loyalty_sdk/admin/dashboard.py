"""What the dashboard shows, gathered in one place: the analytics of the last twelve months
(:mod:`loyalty_sdk.analytics`, the same figures as ``loyalty report``), placed for drawing.
"""

from __future__ import annotations

from typing import Any

from loyalty_sdk import analytics
from loyalty_sdk.analytics import charts
from loyalty_sdk.analytics.commands import money_text, percent
from loyalty_sdk.facade import Loyalty

TOP_RULES = 8


def figures(loyalty: Loyalty) -> dict[str, Any]:
    """The dashboard's context: ``cards`` as ``(label, figure, note)``, chart geometry for the
    liability over time, the tiers and the top rules, and the cohort triangle."""
    found = analytics.report(loyalty, rules=TOP_RULES)
    s = found.summary
    members, points = s.members, s.points
    cards = [
        ("Members", f"{members.enrolled:,}", f"{members.new_members:,} new in the period"),
        ("Active (90 days)", f"{members.active_90:,}", f"{percent(members.active_rate_90)} of members"),
        ("Points liability", money_text(s.liability.value), f"{s.liability.outstanding:,} points outstanding"),
        ("Redemption rate", percent(points.redemption_rate), f"breakage {percent(points.breakage)}"),
        ("Revenue from members", money_text(s.purchases.members.revenue),
         f"{percent(s.purchases.member_revenue_share)} of revenue"),
        ("Lifetime value (est.)", money_text(s.lifetime_value), "per member"),
    ]
    return {
        "period": s.period, "cards": cards, "pct": percent, "heat": charts.heat, "cohorts": found.cohorts,
        "currency": s.currency,
        "liability": charts.line([(f"{p.at:%Y-%m-%d}", p.value.amount) for p in found.liability.points]),
        "tiers": charts.bars(list(found.tiers.distribution.items())),
        "rules": charts.bars([(rule.rule_id, rule.points) for rule in found.rules.rules]),
        "flows": charts.bars([("issued", points.issued), ("adjusted", points.adjusted),
                              ("redeemed", points.redeemed), ("expired", points.expired),
                              ("clawed back", points.clawed_back)]),
    }


__all__ = ["figures"]
