"""``loyalty report``: the analytics of a period as Rich tables, JSON, or a self-contained HTML
file (inline SVG charts, no scripts, no external assets)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from jinja2 import Environment, PackageLoader, select_autoescape
from rich.table import Table

from loyalty_sdk.analytics import charts
from loyalty_sdk.analytics.period import period_between
from loyalty_sdk.analytics.scope import scope_of
from loyalty_sdk.analytics.summary import Report, report
from loyalty_sdk.console import JsonFlag, show
from loyalty_sdk.core.money import Money

TERMINAL_MONTHS = 12
_environment = Environment(loader=PackageLoader("loyalty_sdk.analytics", "templates"),
                           autoescape=select_autoescape(default=True, default_for_string=True))


def percent(share: Decimal | None) -> str:
    """``Decimal("0.8140")`` as ``81.40%``; a dash when undefined."""
    return "–" if share is None else f"{share * 100:.2f}%"


def money_text(amount: Money | None) -> str:
    return "–" if amount is None else f"{amount.amount} {amount.currency}"


def render_html(figures: Report) -> str:
    """The report as one self-contained HTML page."""
    s = figures.summary
    zone = s.period
    groups = (("members", s.purchases.members), ("non-members", s.purchases.non_members))
    return _environment.get_template("report.html.j2").render(
        r=figures, s=s, pct=percent, money=money_text, heat=charts.heat, groups=groups,
        period_label=f"{zone.start:%Y-%m-%d %H:%M} to {zone.end:%Y-%m-%d %H:%M} UTC",
        aov_chart=charts.bars([(label, g.average_order_value.amount if g.average_order_value else 0)
                               for label, g in groups]),
        liability_chart=charts.line([(f"{p.at:%Y-%m-%d}", p.value.amount) for p in figures.liability.points]),
        tier_chart=charts.bars(list(figures.tiers.distribution.items())),
        rules_chart=charts.bars([(r.rule_id, r.points) for r in figures.rules.rules]),
    )


def _tables(figures: Report) -> list[Table]:
    s = figures.summary
    headline = Table(title=f"{s.shop_id}: {s.period.start:%Y-%m-%d} to {s.period.end:%Y-%m-%d}", show_header=False)
    headline.add_column()
    headline.add_column(justify="right")
    m, p = s.members, s.points
    for label, value in (
        ("members (new)", f"{m.enrolled:,} ({m.new_members:,})"),
        ("active 30 / 90 days", f"{m.active_30:,} / {m.active_90:,} ({percent(m.active_rate_90)})"),
        ("customers, enrollment rate", f"{m.customers:,}, {percent(m.enrollment_rate)}"),
        ("churn rate", f"{percent(m.churn_rate)} ({m.churned} of {m.churn_base})"),
        ("lifetime value (estimate)", money_text(s.lifetime_value)),
        ("points issued / redeemed", f"{p.issued:,} / {p.redeemed:,}"),
        ("points expired / clawed back / adjusted", f"{p.expired:,} / {p.clawed_back:,} / {p.adjusted:,}"),
        ("redemption rate, breakage", f"{percent(p.redemption_rate)}, {percent(p.breakage)}"),
        ("liability", f"{money_text(s.liability.value)} ({s.liability.outstanding:,} points)"),
    ):
        headline.add_row(label, value)
    buyers = Table(title="Members against non-members")
    for column in ("", "customers", "orders", "repeat rate", "frequency", "revenue", "average order"):
        buyers.add_column(column, justify="left" if not column else "right")
    for label, g in (("members", s.purchases.members), ("non-members", s.purchases.non_members)):
        buyers.add_row(label, f"{g.customers:,}", f"{g.orders:,}", percent(g.repeat_purchase_rate),
                       str(g.purchase_frequency or "–"), money_text(g.revenue), money_text(g.average_order_value))
    # A terminal holds about a year of columns; --html and --json have the whole triangle.
    shown = min(len(figures.cohorts.months), TERMINAL_MONTHS)
    retention = Table(title="Retention by enrollment cohort")
    retention.add_column("cohort")
    retention.add_column("members", justify="right")
    for k in range(shown):
        retention.add_column(f"+{k}", justify="right")
    for c in figures.cohorts.cohorts[-shown:]:
        retention.add_row(c.month, str(c.members), *(percent(share) for share in c.rates))
    rules = Table(title="Top rules")
    for column in ("rule", "points", "transactions", "members"):
        rules.add_column(column, justify="left" if column == "rule" else "right")
    for r in figures.rules.rules:
        rules.add_row(r.rule_id, f"{r.points:,}", f"{r.transactions:,}", f"{r.members:,}")
    tiers = Table(title="Tiers at the period's end")
    tiers.add_column("tier")
    tiers.add_column("members", justify="right")
    for tier, count in figures.tiers.distribution.items():
        tiers.add_row(tier, f"{count:,}")
    return [headline, buyers, retention, rules, tiers]


def report_command(
    shop: Annotated[str, typer.Option("--shop", help="Shop (tenant) id.")] = "default",
    start: Annotated[str | None, typer.Option("--from", help="DATE or DATETIME the period starts at (shop time "
                                                             "unless it has an offset); default: 11 months before "
                                                             "the current month.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="DATE or DATETIME the period ends before; default now. "
                                                         "A bare date ends the period at that day's start.")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Also write a self-contained HTML report here.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Retention analytics of a period: members, repeat purchases, cohorts, points, liability."""
    from loyalty_sdk.cli import _loyalty

    with _loyalty(shop) as loyalty:
        scope = scope_of(loyalty)
        figures = report(scope, period_between(start, end, scope.now, scope.zone))
    if html is not None:
        html.write_text(render_html(figures), encoding="utf-8")
    show(figures.as_dict(), lambda: _tables(figures), as_json=as_json, wrote=html)


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)


__all__ = ["money_text", "percent", "register", "render_html", "report_command"]
