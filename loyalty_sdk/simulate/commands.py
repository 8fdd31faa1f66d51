"""``loyalty simulate``: replay an order history through programs, side by side."""

from __future__ import annotations

import io
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from loyalty_sdk.analytics.commands import percent
from loyalty_sdk.console import JsonFlag, show, stderr
from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.program import load_program
from loyalty_sdk.simulate.charts import render_charts
from loyalty_sdk.simulate.replay import simulate
from loyalty_sdk.simulate.sources import FORMATS, History, read_history

TOP_SHOWN = 5
MAX_BAD_ROWS_SHOWN = 20


def simulate_command(
    program: Annotated[Path, typer.Option("--program", exists=True, dir_okay=False,
                                          help="The program (loyalty.toml) to price.")],
    orders: Annotated[Path, typer.Option("--orders", exists=True, dir_okay=False,
                                         help="The order history file.")],
    format: Annotated[str, typer.Option("--format", help=f"Order file format: {' | '.join(FORMATS)}.")] = "generic",
    compare: Annotated[list[Path] | None, typer.Option("--compare", exists=True, dir_okay=False,
                                                       help="Another program to replay beside it (repeatable).")]
    = None,
    start: Annotated[str | None, typer.Option("--from", help="Replay events from this DATE or DATETIME "
                                                             "(program time unless it has an offset).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Replay events before this DATE or DATETIME.")] = None,
    redemption_rate: Annotated[str, typer.Option("--redemption-rate", help="Share of earned points members are "
                                                 "assumed to redeem, 0 to 1.")] = "0.6",
    strict: Annotated[bool, typer.Option("--strict", help="Stop at the first bad row instead of skipping it.")]
    = False,
    html: Annotated[Path | None, typer.Option("--html", help="Also write a self-contained HTML report here.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Replay historical orders and refunds through programs on books in memory and compare them."""
    from loyalty_sdk.cli import parse_as_of

    try:
        rate = Decimal(redemption_rate)
    except InvalidOperation:
        raise InvalidInput(f"--redemption-rate must be a decimal like 0.6, got {redemption_rate!r}",
                           field="redemption_rate", value=redemption_rate) from None
    programs = [(path, load_program(path)) for path in [program, *(compare or [])]]
    zone = programs[0][1].zone
    since = parse_as_of(start, zone) if start else None
    until = parse_as_of(end, zone) if end else None
    history = read_history(orders, format, strict=strict)
    err = stderr()
    for bad in history.bad_rows[:MAX_BAD_ROWS_SHOWN]:
        err.print(f"skipped {bad}", markup=False, soft_wrap=True)
    if len(history.bad_rows) > MAX_BAD_ROWS_SHOWN:
        err.print(f"... and {len(history.bad_rows) - MAX_BAD_ROWS_SHOWN} more bad rows (all of them in --json)")
    results = []
    for path, loaded in programs:
        with Progress(TextColumn(f"replaying through {path.name}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=err, disable=not err.is_terminal, transient=True) as bar:
            task = bar.add_task("orders", total=len(history.orders))
            figures = simulate(loaded, history, redemption_rate=rate, start=since, end=until,
                               progress=lambda done, total, bar=bar, task=task: bar.update(task, completed=done,
                                                                                           total=total))
        results.append({"file": str(path), **figures})
    data = {
        "input": _input(history, format),
        "assumptions": {"redemption_rate": str(rate), "from": since, "to": until,
                        "members": "every customer with an email or customer id joins at their first order"},
        "programs": results,
    }
    if html is not None:
        html.write_text(render_html(data), encoding="utf-8")
    show(data, lambda: _tables(data), as_json=as_json, wrote=html)


def render_html(data: dict[str, Any]) -> str:
    """The tables as one self-contained HTML page (inline styles, no scripts, no external assets)."""
    page = Console(record=True, file=io.StringIO(), width=160)
    for table in _tables(data):
        page.print(table)
    tables = page.export_html(inline_styles=True)
    # The charts go after the tables, inside the page Rich wrote.
    head, tail = tables.rsplit("</body>", 1)
    return f"{head}{render_charts(data)}\n</body>{tail}"


def _input(history: History, format: str) -> dict[str, Any]:
    return {"file": history.source, "format": format, "rows": history.rows, "orders": len(history.orders),
            "refunds": len(history.refunds), "cancellations": len(history.cancellations),
            "guest_orders": len(history.guests), "unpaid_orders": history.unpaid,
            "bad_rows": [{"file": b.file, "line": b.line, "reason": b.reason} for b in history.bad_rows]}


def _tables(data: dict[str, Any]) -> list[Table]:
    programs = data["programs"]
    books = Table(title=f"Replayed {data['input']['orders']:,} orders "
                        f"(redemption rate {data['assumptions']['redemption_rate']})")
    books.add_column("")
    for result in programs:
        books.add_column(f"{result['program']}\n{Path(result['file']).name}", justify="right")

    def row(label: str, pick: Any) -> None:
        books.add_row(label, *(pick(result) for result in programs))

    def money(part: dict[str, Any]) -> str:
        share = part.get("share_of_revenue")
        suffix = f" ({percent(Decimal(share))})" if share is not None else ""
        return f"{part['amount']} {part['currency']}{suffix}"

    row("members", lambda r: f"{r['members']:,}")
    row("revenue", lambda r: f"{r['revenue']['amount']} {r['revenue']['currency']}")
    for name in ("issued", "clawed_back", "redeemed", "expired", "outstanding"):
        row(f"points {name.replace('_', ' ')}", lambda r, name=name: f"{r['points'][name]:,}")
    row("liability (share of revenue)", lambda r: money(r["liability"]))
    row("discount cost (share of revenue)", lambda r: money(r["discount_cost"]))
    # Tiers in the programs' own order, lowest first.
    for tier in dict.fromkeys(tier for result in programs for tier in result["tiers"]["end"]):
        row(f"members in {tier} at the end", lambda r, tier=tier: f"{r['tiers']['end'].get(tier, 0):,}")
    for tier in dict.fromkeys(tier for result in programs for tier in result["tiers"]["crossed"]):
        row(f"customers reaching {tier}", lambda r, tier=tier: f"{r['tiers']['crossed'].get(tier, 0):,}")
    gainers = Table(title="Customers who would gain the most")
    for result in programs:
        gainers.add_column(result["program"])
    columns = [[f"{c['customer']}: {c['points']:,} ({c['value']['amount']} {c['value']['currency']})"
                for c in result["top_customers"][:TOP_SHOWN]] for result in programs]
    for index in range(max((len(c) for c in columns), default=0)):
        gainers.add_row(*(c[index] if index < len(c) else "" for c in columns))
    return [books, gainers]


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_command)


__all__ = ["register", "simulate_command"]
