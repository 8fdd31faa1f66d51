"""The ``loyalty`` command.

Configuration comes from ``LOYALTY_*`` environment variables (:mod:`loyalty_sdk.settings`):
``LOYALTY_DATABASE_URL`` names the ledger, ``LOYALTY_PROGRAM`` the loyalty.toml to run. Every
command that prints data takes ``--json`` and then prints only JSON on stdout. A rejected input
prints ``error: <message>`` on stderr and exits with status 2; an unreachable database exits 1,
and so does ``doctor`` when the books do not reconcile.
"""

from __future__ import annotations

import json
import re
import time as wallclock
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy import select
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from typer.core import TyperGroup

from loyalty_sdk.console import JsonFlag
from loyalty_sdk.console import plain as _plain
from loyalty_sdk.console import print_json as _print_json
from loyalty_sdk.console import stderr as _stderr
from loyalty_sdk.console import stdout as _stdout
from loyalty_sdk.console import when as _when
from loyalty_sdk.core import migrate
from loyalty_sdk.core.errors import InvalidInput, LoyaltyError, ShopNotFound
from loyalty_sdk.core.plugin_host import PluginHost
from loyalty_sdk.core.program import default_program_text
from loyalty_sdk.core.storage import open_engine, shops
from loyalty_sdk.demo import DEMO_DAYS, DEMO_SHOP, DEMO_START, open_demo, run_demo
from loyalty_sdk.facade import Loyalty
from loyalty_sdk.settings import get_settings
from loyalty_sdk.shops_commands import shops_app

ERROR_EXIT = 2
DOCTOR_FAILED_EXIT = 1
DATABASE_EXIT = 1
DEFAULT_SHOP = "default"
HISTORY_LINES = 20


class LoyaltyGroup(TyperGroup):
    """The one place errors become messages: a LoyaltyError (bad input) or an unusable
    database anywhere below prints ``error: ...`` in red on stderr, with no traceback."""

    def get_command(self, ctx: Any, name: str) -> Any:
        found = super().get_command(ctx, name)
        if found is None:  # ``loyalty woocommerce ...``: a platform plugin's commands
            from loyalty_sdk.server.commands import platform_commands

            commands = platform_commands().get(name)
            if commands is not None:
                found = typer.main.get_command(commands)
                found.name = name
        return found

    def list_commands(self, ctx: Any) -> list[str]:
        from loyalty_sdk.server.commands import platform_commands

        builtin = super().list_commands(ctx)
        return builtin + sorted(name for name in platform_commands() if name not in builtin)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except LoyaltyError as error:
            _fail(str(error), ERROR_EXIT)
        except (ArgumentError, NoSuchModuleError) as error:
            _fail(f"LOYALTY_DATABASE_URL is not a usable database URL: {error}", ERROR_EXIT)
        except OperationalError as error:
            _fail(f"database {get_settings().safe_database_url}: {error.orig}", DATABASE_EXIT)


def _fail(message: str, code: int) -> None:
    _stderr().print(Text(f"error: {message}", style="red"), soft_wrap=True)
    raise typer.Exit(code)


# Locals could hold settings or member data; a crash report must not print them.
app = typer.Typer(cls=LoyaltyGroup, no_args_is_help=True, pretty_exceptions_show_locals=False,
                  help="Run a loyalty program: points, rewards, tiers, expiry.")
members_app = typer.Typer(no_args_is_help=True, help="Look up members and adjust their points.")
jobs_app = typer.Typer(no_args_is_help=True, help="The scheduled jobs: release pending, expire, remind, re-tier.")
db_app = typer.Typer(no_args_is_help=True, help="The ledger database schema.")
app.add_typer(members_app, name="members")
app.add_typer(jobs_app, name="jobs")
app.add_typer(shops_app, name="shops")
app.add_typer(db_app, name="db")

ShopOption = Annotated[str, typer.Option("--shop", help="Shop (tenant) id; 'default' is created on first use.")]


# -- opening the books ---------------------------------------------------------------------------


@contextmanager
def _database() -> Iterator[Any]:
    """An engine on LOYALTY_DATABASE_URL with the schema brought up to date."""
    with migrate.opened(get_settings().database_url) as engine:
        yield engine


def _require_shop(shop: str) -> None:
    # Only the default shop appears on first use; a mistyped --shop must not create a tenant.
    if shop == DEFAULT_SHOP:
        return
    with _database() as engine, engine.connect() as conn:
        if conn.execute(select(shops.c.id).where(shops.c.id == shop)).first() is None:
            raise ShopNotFound(f"no shop {shop!r} in this database; add it with `loyalty shops add`", field="shop",
                               value=shop)


@contextmanager
def _loyalty(shop: str) -> Iterator[Loyalty]:
    """The facade on the configured database and program, for one existing shop."""
    _require_shop(shop)
    settings = get_settings()
    with Loyalty(settings.database_url, settings.program, shop=shop) as loyalty:
        yield loyalty


# -- init ----------------------------------------------------------------------------------------


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the program.")] = Path("loyalty.toml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write the default program, fully commented, to edit and keep in git."""
    if path.exists() and not force:
        raise InvalidInput(f"{path} already exists; pass --force to overwrite it", field="path", value=str(path))
    path.write_text(default_program_text(), encoding="utf-8")
    _stdout().print(f"wrote {path}. Edit it, then run with [bold]LOYALTY_PROGRAM={path}[/bold].")


# -- demo ----------------------------------------------------------------------------------------


@app.command()
def demo(
    customers: Annotated[int, typer.Option(min=1, help="Members to enroll over the year.")] = 1000,
    orders: Annotated[int, typer.Option(min=0, help="Orders to place over the year.")] = 10000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same books.")] = 42,
    shop: Annotated[str, typer.Option("--shop", help="Shop id for the demo (the next free one if taken).")] = DEMO_SHOP,
    as_json: JsonFlag = False,
) -> None:
    """Replay a synthetic year of a coffee store through the program and show the books."""
    settings = get_settings()
    err = _stderr()
    with open_demo(settings.database_url, settings.program, shop=shop) as loyalty:
        if loyalty.shop_id != shop:
            err.print(f"shop {shop!r} already holds demo data; this run uses the new shop {loyalty.shop_id!r}.")
        started = wallclock.perf_counter()
        with _progress(err, orders) as advance:
            books = run_demo(loyalty, customers=customers, orders=orders, seed=seed, progress=advance)
        elapsed = round(wallclock.perf_counter() - started, 2)
    if as_json:
        _print_json({**books, "elapsed_seconds": elapsed})
    else:
        _show_demo(books, customers, orders, elapsed)


@contextmanager
def _progress(console: Console, total: int) -> Iterator[Callable[[int, int], None]]:
    # A progress bar is only useful to a person watching; logs and pipes get nothing.
    with Progress(TextColumn("replaying a year of orders"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=not console.is_terminal, transient=True) as progress:
        task = progress.add_task("orders", total=total)
        yield lambda done, _total: progress.update(task, completed=done)


def _show_demo(books: dict[str, Any], customers: int, orders: int, elapsed: float) -> None:
    out = _stdout()
    end = DEMO_START.date().replace(year=DEMO_START.year + 1)
    out.print(f"[bold]Demo shop {books['shop']!r}[/bold]: {customers:,} customers, {orders:,} orders, seed "
              f"{books['seed']}, {DEMO_DAYS} days from {DEMO_START.date()} to {end}")
    points = books["points"]
    table = Table(title="Points", show_header=False)
    table.add_column(justify="left")
    table.add_column(justify="right")
    table.add_row("members", f"{books['members']:,}")
    table.add_row("orders recorded", f"{books['orders']:,}")
    for key in ("issued", "redeemed", "expired", "clawed_back", "adjusted"):
        table.add_row(key.replace("_", " "), f"{points[key]:,}")
    split = f"({points['available']:,} available, {points['pending']:,} pending)"
    table.add_row("[bold]outstanding[/bold]", f"[bold]{points['outstanding']:,}[/bold] {split}")
    liability = books["liability"]
    table.add_row("[bold]liability[/bold]", f"[bold]{liability['amount']} {liability['currency']}[/bold]")
    out.print(table)
    out.print(_tier_table(books["tiers"]))
    replayed = books["replayed"]
    out.print(f"{replayed.get('redemptions', 0):,} redemptions, {replayed.get('refunds', 0):,} refunds, "
              f"{replayed.get('cancellations', 0):,} cancellations, {replayed.get('jobs_expired', 0):,} lots expired, "
              f"{replayed.get('jobs_tier_changes', 0):,} tier changes by the nightly jobs")
    _show_doctor(out, books["doctor"])
    out.print(f"[dim]{elapsed:.1f} s[/dim]")


def _tier_table(tiers: Mapping[str, int]) -> Table:
    table = Table(title="Tiers")
    table.add_column("tier")
    table.add_column("members", justify="right")
    table.add_column("")
    most = max(tiers.values(), default=0) or 1
    for tier, count in tiers.items():
        table.add_row(tier, f"{count:,}", "█" * round(30 * count / most))
    return table


def _show_doctor(out: Console, report: Mapping[str, Any]) -> None:
    checks = report["checks"]
    if report["ok"]:
        out.print(f"[green]✓ ledger checks pass[/green] ({len(checks)}: {', '.join(checks)})")
        return
    for name, check in checks.items():
        if not check["ok"]:
            out.print(f"[red]✗ {name}[/red]: {json.dumps(_plain(check['problems']))}")


# -- members ---------------------------------------------------------------------------------------


@members_app.command("show")
def members_show(
    ref: Annotated[str, typer.Argument(help="Customer id or email.")],
    shop: ShopOption = DEFAULT_SHOP,
    as_json: JsonFlag = False,
) -> None:
    """A member's balance and tier, the lots holding their points, and their recent history."""
    with _loyalty(shop) as loyalty:
        member = loyalty.member(ref)
        lots = [lot for lot in loyalty.lots(member.id) if lot.remaining]
        history = loyalty.history(member.id, limit=HISTORY_LINES)
    if as_json:
        _print_json({"member": member, "lots": lots, "history": history})
        return
    out = _stdout()
    who = " ".join(part for part in (member.customer_id, member.email and f"<{member.email}>") if part)
    out.print(f"[bold]{who}[/bold] (member {member.id}, tier {member.tier or '-'}, since {_when(member.enrolled_at)})")
    out.print(f"available [bold]{member.available:,}[/bold], pending {member.pending:,}, "
              f"lifetime {member.lifetime_points:,}")
    lot_table = Table(title="Lots", show_lines=False)
    for column in ("lot", "earned", "remaining", "status", "available at", "expires"):
        lot_table.add_column(column)
    for lot in lots:
        lot_table.add_row(str(lot.id), _when(lot.earned_at), f"{lot.remaining:,} / {lot.points:,}", lot.status,
                          _when(lot.available_at), _when(lot.expires_at))
    out.print(lot_table)
    history_table = Table(title=f"Last {HISTORY_LINES} transactions")
    for column in ("when", "kind", "points", "reason"):
        history_table.add_column(column, justify="right" if column == "points" else "left")
    for line in history:
        history_table.add_row(_when(line.at), line.kind, f"{line.points:+,}", line.reason)
    out.print(history_table)


POINTS_PATTERN = re.compile(r"[+-]?\d+")


def parse_points(text: str) -> int:
    """A whole, non-zero number of points from the command line (``150``, ``-50``)."""
    cleaned = text.strip().replace("_", "")
    if not POINTS_PATTERN.fullmatch(cleaned):
        raise InvalidInput(f"POINTS must be a whole number of points (like 150 or -50), got {text!r}", field="points",
                           value=text)
    return int(cleaned)


# ignore_unknown_options lets a negative POINTS ("-50") through instead of reading it as an option.
@members_app.command("adjust", context_settings={"ignore_unknown_options": True})
def members_adjust(
    ref: Annotated[str, typer.Argument(help="Customer id or email.")],
    points: Annotated[str, typer.Argument(help="Points to add (or, negative, to remove).")],
    reason: Annotated[str, typer.Option("--reason", help="Why; recorded on the transaction and shown to the member.")],
    key: Annotated[str | None, typer.Option("--key", help="Idempotency key: the same key never posts twice.")] = None,
    shop: ShopOption = DEFAULT_SHOP,
    as_json: JsonFlag = False,
) -> None:
    """Add or remove points by hand, with a reason (removing more than is available is refused)."""
    amount = parse_points(points)
    with _loyalty(shop) as loyalty:
        posted = loyalty.adjust(ref, amount, reason, actor="cli", idempotency_key=key)
        balance = loyalty.balance(posted.member_id)
    if as_json:
        _print_json({"transaction_id": posted.transaction_id, "member_id": posted.member_id, "points": posted.points,
                     "replayed": posted.replayed, "balance": balance})
        return
    note = " (already recorded under this key; nothing changed)" if posted.replayed else ""
    _stdout().print(f"{posted.points:+,} points to member {posted.member_id}: {reason}{note}\n"
                    f"available {balance.available:,}, pending {balance.pending:,}, tier {balance.tier or '-'}")


@members_app.command("redact")
def members_redact(
    ref: Annotated[str, typer.Argument(help="Customer id or email.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept with the event).")] = "customer asked to be forgotten",
    shop: ShopOption = DEFAULT_SHOP,
    as_json: JsonFlag = False,
) -> None:
    """Erase a member's personal data; their anonymous ledger stays, so the books still add up."""
    with _loyalty(shop) as loyalty:
        member = loyalty.member(ref)
        erased = loyalty.redact(member.id, reason)
    if as_json:
        _print_json({"member_id": member.id, "redacted": erased})
    else:
        _stdout().print(f"member {member.id}: " + ("personal data erased" if erased else "already redacted"))


# -- jobs, doctor, plugins --------------------------------------------------------------------------


def parse_as_of(text: str, zone: ZoneInfo) -> datetime:
    """``2026-03-01`` (midnight, shop time), ``2026-03-01T12:00`` (shop time) or with an offset."""
    text = text.strip()
    try:
        return datetime.combine(date.fromisoformat(text), time.min, tzinfo=zone)
    except ValueError:
        pass  # not a bare date; try a datetime
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"--as-of must be a date or datetime like 2026-03-01 or 2026-03-01T12:00Z, got {text!r}",
                           field="as_of", value=text) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


@jobs_app.command("run")
def jobs_run(
    as_of: Annotated[str | None, typer.Option("--as-of", help="DATE or DATETIME (shop time unless it has an "
                                                               "offset); default now.")] = None,
    shop: ShopOption = DEFAULT_SHOP,
    as_json: JsonFlag = False,
) -> None:
    """Release pending points, expire, send expiry reminders, re-tier and deliver events."""
    with _loyalty(shop) as loyalty:
        moment = parse_as_of(as_of, loyalty.program.zone) if as_of else loyalty.books.now()
        report = loyalty.run_jobs(as_of=moment)
    if as_json:
        _print_json({"as_of": moment, **report.as_dict()})
        return
    _stdout().print(
        f"jobs as of {moment.isoformat()}: released {report.released} lots ({report.released_points:,} points), "
        f"expired {report.expired} lots ({report.expired_points:,} points), {report.reminders} reminders, "
        f"{report.tier_changes} tier changes, {report.events_delivered} events delivered"
        + (f", {report.referrals_rewarded} referrals rewarded, {report.referrals_voided} voided"
           if report.referrals_rewarded or report.referrals_voided else ""))


@app.command()
def doctor(shop: ShopOption = DEFAULT_SHOP, as_json: JsonFlag = False) -> None:
    """Re-derive every balance from the ledger entries; exit 1 if anything disagrees."""
    with _loyalty(shop) as loyalty:
        report = loyalty.doctor()
    if as_json:
        _print_json(report)
    else:
        _show_doctor(_stdout(), report)
    if not report["ok"]:
        raise typer.Exit(DOCTOR_FAILED_EXIT)


@app.command()
def plugins(as_json: JsonFlag = False) -> None:
    """The plugins loaded (built-in and from entry points) and the hooks each implements."""
    # The same host a Loyalty builds, without opening a database just to list code.
    infos = PluginHost().plugins()
    if as_json:
        _print_json({"plugins": infos})
        return
    table = Table(title="Plugins")
    table.add_column("name", no_wrap=True)
    table.add_column("distribution", no_wrap=True)
    table.add_column("hooks", overflow="fold")
    for info in infos:
        source = " ".join(part for part in (info.distribution, info.version) if part) or "-"
        table.add_row(info.name, source, "\n".join(info.hooks))
    _stdout().print(table)


# -- db ------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(as_json: JsonFlag = False) -> None:
    """Create or migrate the schema to the newest revision."""
    settings = get_settings()
    engine = open_engine(settings.database_url)
    try:
        revision = migrate.upgrade(engine)
    finally:
        engine.dispose()
    if as_json:
        _print_json({"revision": revision, "database": settings.safe_database_url})
    else:
        _stdout().print(f"{settings.safe_database_url} is at revision [bold]{revision}[/bold]")


from loyalty_sdk.segments.commands import segments_app  # noqa: E402
from loyalty_sdk.server.commands import register as _register_server_commands  # noqa: E402

_register_server_commands(app, shops_app)

from loyalty_sdk.analytics.commands import register as _register_analytics_commands  # noqa: E402

_register_analytics_commands(app)

from loyalty_sdk.simulate.commands import register as _register_simulate_command  # noqa: E402

_register_simulate_command(app)
app.add_typer(segments_app, name="segments")

from loyalty_sdk.referral_commands import referrals_app  # noqa: E402

app.add_typer(referrals_app, name="referrals")

from loyalty_sdk.messages.commands import messages_app  # noqa: E402

app.add_typer(messages_app, name="messages")

from loyalty_sdk.imports.commands import register as _register_import_commands  # noqa: E402

_register_import_commands(app)

__all__ = ["app", "parse_as_of", "parse_points"]
