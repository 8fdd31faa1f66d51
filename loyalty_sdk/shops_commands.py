"""``loyalty shops ...``: the shops (tenants) of this database, and their settings."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.table import Table
from sqlalchemy import func, insert, select

from loyalty_sdk.console import JsonFlag, print_json, stdout, when
from loyalty_sdk.core import migrate, tenancy
from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.ledger import stored, utc
from loyalty_sdk.core.money import currency_exponent
from loyalty_sdk.core.program import load_program
from loyalty_sdk.core.storage import members as members_table
from loyalty_sdk.core.storage import shops
from loyalty_sdk.settings import get_settings

shops_app = typer.Typer(no_args_is_help=True, help="Shops (tenants) in this database.")


def _database():
    """The configured database, its schema up to date (a context manager)."""
    return migrate.opened(get_settings().database_url)


PLATFORM_PATTERN = re.compile(r"[a-z][a-z0-9_-]*")


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {name!r} (use an IANA name like Europe/Paris)", field="timezone",
                           value=name) from None
    return name


@shops_app.command("add")
def shops_add(
    platform: Annotated[str, typer.Argument(help="shopify, woocommerce, stripe or custom.")],
    shop_id: Annotated[str, typer.Argument(metavar="ID", help="Shop domain, store URL or a name.")],
    currency: Annotated[str | None, typer.Option(help="ISO 4217 code; default: the program's.")] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA zone; default: the program's.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Register a shop (tenant) so orders and members can be recorded for it."""
    if not PLATFORM_PATTERN.fullmatch(platform):
        raise InvalidInput(f"PLATFORM must be a lower-case name like shopify, got {platform!r}", field="platform",
                           value=platform)
    if not shop_id.strip():
        raise InvalidInput("ID must not be empty", field="id", value=shop_id)
    program = load_program(get_settings().program).program
    currency = (currency or program.currency).upper()
    currency_exponent(currency)
    record = {"id": shop_id.strip(), "platform": platform, "currency": currency,
              "timezone": _check_timezone(timezone or program.timezone), "created_at": utc(datetime.now(UTC)),
              "settings": {}}
    with _database() as engine, engine.execution_options(loyalty_write=True).begin() as conn:
        if conn.execute(select(shops.c.id).where(shops.c.id == record["id"])).first() is not None:
            raise InvalidInput(f"shop {record['id']!r} already exists", field="id", value=record["id"])
        conn.execute(insert(shops), record)
    if as_json:
        print_json({key: value for key, value in record.items() if key != "settings"})
    else:
        stdout().print(f"added {platform} shop {record['id']!r} ({currency}, {record['timezone']})")


@shops_app.command("set")
def shops_set(
    shop_id: Annotated[str, typer.Argument(metavar="ID")],
    key: Annotated[str, typer.Argument(help="A setting, e.g. earn_test_orders, exclude_sources, money.")],
    value: Annotated[str | None, typer.Argument(help="JSON (true, [\"pos\"], \"presentment\") or plain text.")] = None,
    unset: Annotated[bool, typer.Option("--unset", help="Remove the setting.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Change one of a shop's settings (platform plugins read them: test orders, channels...)."""
    if (value is None) == (not unset):
        raise InvalidInput("give a VALUE, or --unset", field="value", value=value)
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", key) or key == "access_token":
        raise InvalidInput(f"KEY must be a lower-case setting name, got {key!r}", field="key", value=key)
    try:
        parsed = json.loads(value) if value is not None else None
    except json.JSONDecodeError:
        parsed = value  # plain text
    with _database() as engine, engine.execution_options(loyalty_write=True).begin() as conn:
        settings = tenancy.change_settings(conn, shop_id, {} if unset else {key: parsed}, [key] if unset else [])
    shown = {k: v for k, v in settings.items() if k != "access_token"}  # a credential, even sealed
    if as_json:
        print_json({"shop": shop_id, "settings": shown})
    else:
        stdout().print(f"{shop_id}: {json.dumps(shown, sort_keys=True)}")


@shops_app.command("list")
def shops_list(as_json: JsonFlag = False) -> None:
    """Every shop in this database with its platform, currency, time zone and member count."""
    count = (select(members_table.c.shop_id, func.count().label("members")).group_by(members_table.c.shop_id)
             .subquery())
    query = (select(shops.c.id, shops.c.platform, shops.c.currency, shops.c.timezone, shops.c.created_at,
                    func.coalesce(count.c.members, 0).label("members"))
             .select_from(shops.outerjoin(count, count.c.shop_id == shops.c.id)).order_by(shops.c.id))
    with _database() as engine, engine.connect() as conn:
        rows = [{**row._mapping, "created_at": stored(row.created_at)} for row in conn.execute(query)]
    if as_json:
        print_json({"shops": rows})
        return
    table = Table(title="Shops")
    for column in ("id", "platform", "currency", "timezone", "members", "created"):
        table.add_column(column, justify="right" if column == "members" else "left")
    for row in rows:
        table.add_row(row["id"], row["platform"], row["currency"], row["timezone"], f"{row['members']:,}",
                      when(row["created_at"]))
    stdout().print(table)


__all__ = ["PLATFORM_PATTERN", "shops_app"]
