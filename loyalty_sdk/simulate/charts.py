"""The simulation report's charts: points and cost per program side by side, and members per
tier month by month, as inline SVG (no scripts, nothing fetched), drawn with the geometry of
the analytics report (:mod:`loyalty_sdk.analytics.charts`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

from loyalty_sdk.analytics import charts

COLOURS = ("#2a7", "#48c", "#c63", "#86c", "#c9a227", "#999")
# The chart macros are the analytics report's own (charts.j2 there).
_environment = Environment(loader=ChoiceLoader([PackageLoader("loyalty_sdk.simulate", "templates"),
                                                PackageLoader("loyalty_sdk.analytics", "templates")]),
                           autoescape=select_autoescape(default=True, default_for_string=True))


def _name(result: dict[str, Any]) -> str:
    return f"{result['program']} ({result['file']})" if result.get("file") else str(result["program"])


def render_charts(data: dict[str, Any]) -> str:
    """The charts section of the HTML report for simulated ``data`` (``simulate``'s JSON)."""
    results = data["programs"]
    programs = []
    for result in results:
        points = result["points"]
        monthly = result["tiers"]["monthly"]
        levels = list(result["tiers"]["end"])
        programs.append({
            "name": _name(result),
            "points": charts.bars([(kind, points[kind]) for kind in ("issued", "redeemed", "expired", "outstanding")]),
            # A line per tier once there are months to draw; the members per tier at the end always.
            "tiers": [{"id": tier, "colour": COLOURS[i % len(COLOURS)],
                       "chart": charts.line([(month["month"], month["tiers"].get(tier, 0)) for month in monthly])}
                      for i, tier in enumerate(levels)] if len(monthly) > 1 else [],
            "tiers_end": charts.bars([(tier, count) for tier, count in result["tiers"]["end"].items()])
            if levels else None,
        })
    cost = []
    for result in results:
        cost.append((f"{_name(result)}: liability", Decimal(result["liability"]["amount"])))
        cost.append((f"{_name(result)}: discounts", Decimal(result["discount_cost"]["amount"])))
    currency = results[0]["revenue"]["currency"] if results else ""
    return _environment.get_template("charts.html.j2").render(programs=programs, cost=charts.bars(cost),
                                                                currency=currency)


__all__ = ["render_charts"]
