"""``loyalty import orders`` and ``loyalty import balances``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from loyalty_sdk.console import JsonFlag, print_json, stderr, stdout
from loyalty_sdk.imports.balances import BalancesImported, import_balances
from loyalty_sdk.imports.formats import FORMATS as BALANCE_FORMATS
from loyalty_sdk.imports.orders import PLATFORMS, OrdersImported, import_orders
from loyalty_sdk.simulate.sources import BadRow

MAX_BAD_ROWS_SHOWN = 20
MAX_MEMBERS_SHOWN = 50

import_app = typer.Typer(no_args_is_help=True, help="Backfill orders and migrate members from another program.")

FileArgument = Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The file to import.")]
ShopOption = Annotated[str, typer.Option("--shop", help="Shop (tenant) id; 'default' is created on first use.")]
StrictFlag = Annotated[bool, typer.Option("--strict", help="Stop at the first bad row; nothing is written.")]
ActorOption = Annotated[str, typer.Option("--actor", help="Who runs the import, recorded on every transaction "
                                                         "and in the admin audit.")]


@contextmanager
def _bar(console: Console, what: str) -> Iterator[Callable[[int, int], None]]:
    # A person watching a long file gets a bar; logs and pipes get nothing.
    with Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                  disable=not console.is_terminal, transient=True) as progress:
        task = progress.add_task(what, total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)


def _show_bad_rows(console: Console, rows: list[BadRow]) -> None:
    for bad in rows[:MAX_BAD_ROWS_SHOWN]:
        console.print(f"skipped {bad}", markup=False, soft_wrap=True)
    if len(rows) > MAX_BAD_ROWS_SHOWN:
        console.print(f"... and {len(rows) - MAX_BAD_ROWS_SHOWN} more bad rows (all of them in --json)")


@import_app.command("orders")
def orders_command(
    file: FileArgument,
    platform: Annotated[str, typer.Option("--platform", help=f"Whose export FILE is: {' | '.join(PLATFORMS)}.")],
    earn: Annotated[bool, typer.Option("--earn", help="Credit the orders under the current program (once, "
                                                      "whether the import or a webhook reports an order first).")]
    = False,
    strict: StrictFlag = False,
    actor: ActorOption = "cli",
    shop: ShopOption = "default",
    as_json: JsonFlag = False,
) -> None:
    """Record a platform's historical orders: for analytics, or with --earn for points too."""
    from loyalty_sdk.cli import _loyalty

    err = stderr()
    with _loyalty(shop) as loyalty, _bar(err, f"importing {file.name}") as advance:
        result = import_orders(loyalty, file, platform, earn=earn, strict=strict, actor=actor, progress=advance)
    if as_json:
        print_json(result.as_dict())
        return
    _show_bad_rows(err, result.bad_rows)
    stdout().print(_orders_table(result))


def _orders_table(result: OrdersImported) -> Table:
    table = Table(title=f"Imported {result.file} ({result.platform})", show_header=False)
    table.add_column()
    table.add_column(justify="right")
    rows: list[tuple[str, Any]] = [("rows read", result.rows), ("orders", result.orders)]
    if result.earn:
        rows += [("earned now", result.earned), ("points credited", result.points),
                 ("members enrolled", result.members_enrolled), ("refunds taken back", result.refunds),
                 ("cancellations", result.cancellations), ("points taken back", result.points_taken_back),
                 ("refunds of guest orders (nothing to take back)", result.guest_refunds)]
    else:
        rows += [("recorded for analytics", result.analytics_only),
                 ("members' orders not recorded (need --earn)", result.member_orders_not_recorded)]
    rows += [("recorded before (unchanged)", result.already_recorded), ("guest orders (no customer)",
             result.guest_orders), ("unpaid orders", result.unpaid_orders), ("bad rows", len(result.bad_rows))]
    for label, value in rows:
        table.add_row(label, f"{value:,}")
    return table


@import_app.command("balances")
def balances_command(
    file: FileArgument,
    format: Annotated[str, typer.Option("--format", help=f"File layout: {' | '.join(BALANCE_FORMATS)} "
                                                         "(see docs/import.md).")] = "generic",
    source: Annotated[str | None, typer.Option("--source", help="Where the points come from, named on every "
                                                                "transaction; default: '<format> export FILE'.")]
    = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change per member; write nothing.")]
    = False,
    strict: StrictFlag = False,
    actor: ActorOption = "cli",
    shop: ShopOption = "default",
    as_json: JsonFlag = False,
) -> None:
    """Give members their starting balance, tier, lifetime points and expiry from another program."""
    from loyalty_sdk.cli import _loyalty

    err = stderr()
    with _loyalty(shop) as loyalty, _bar(err, f"importing {file.name}") as advance:
        result = import_balances(loyalty, file, format, source=source, dry_run=dry_run, strict=strict, actor=actor,
                                 progress=advance)
    if as_json:
        print_json(result.as_dict())
        return
    _show_bad_rows(err, result.bad_rows)
    out = stdout()
    out.print(_members_table(result))
    verb = "would import" if result.dry_run else "imported"
    out.print(f"{verb} {result.imported:,} members ({result.points:,} points, {result.enrolled:,} newly enrolled), "
              f"{result.unchanged:,} unchanged, {len(result.bad_rows):,} bad rows; source: {result.source}"
              + (" (dry run: nothing was written)" if result.dry_run else ""), markup=False)


def _members_table(result: BalancesImported) -> Table:
    table = Table(title=f"{'Dry run of ' if result.dry_run else ''}{result.file}")
    for column in ("line", "member", "change", "balance", "lifetime", "tier", "expires"):
        table.add_column(column)
    for change in result.members[:MAX_MEMBERS_SHOWN]:
        tier = change.tier_after or "-"
        if change.tier_before != change.tier_after:
            tier = f"{change.tier_before or '-'} -> {change.tier_after or '-'}"
        status = f"{change.status}{' (enrolls)' if change.enrolled else ''}"
        expires = change.expires_at.isoformat() if change.expires_at else "-"
        table.add_row(str(change.line), change.member, status, f"+{change.balance:,}", f"+{change.lifetime_points:,}",
                      tier, expires)
    if len(result.members) > MAX_MEMBERS_SHOWN:
        table.caption = f"first {MAX_MEMBERS_SHOWN} of {len(result.members):,} members (all of them in --json)"
    return table


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")


__all__ = ["import_app", "register"]
