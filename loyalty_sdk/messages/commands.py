"""``loyalty messages list [--status] [--shop]`` and ``loyalty messages retry [ID]... | --all``:
the member message queue, and dead messages sent again once their channel is back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from loyalty_sdk.console import JsonFlag, print_json, print_table, stdout, when
from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.settings import get_settings

messages_app = typer.Typer(no_args_is_help=True,
                           help="Member messages: waiting, sent, skipped and dead (given up).")


@messages_app.command("list")
def messages_list(
    status: Annotated[str | None, typer.Option(help="pending, sent, skipped or dead.")] = None,
    shop: Annotated[str | None, typer.Option(help="Only this shop's messages.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: JsonFlag = False,
) -> None:
    """The newest messages with their status, attempts and last error."""
    from loyalty_sdk.core import migrate
    from loyalty_sdk.messages import backlog

    with migrate.opened(get_settings().database_url) as engine, engine.connect() as conn:
        rows = backlog.listing(conn, status=status, shop_id=shop, limit=limit)
        counts = backlog.counts(conn, shop_id=shop)
    if as_json:
        print_json({"messages": rows, "counts": counts})
        return
    print_table(f"Messages: {', '.join(f'{n:,} {status}' for status, n in counts.items())}",
                ("id", "shop", "channel", "kind", "member", "status", "attempts", "next attempt", "last error"),
                ((row["id"], row["shop_id"], row["channel"], row["kind"], row["member_id"], row["status"],
                  row["attempts"], when(_moment(row["next_attempt_at"])), (row["last_error"] or "")[:80])
                 for row in rows))


@messages_app.command("retry")
def messages_retry(
    ids: Annotated[list[int] | None, typer.Argument(metavar="[ID]...", help="Dead messages to send again.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every dead message.")] = False,
    shop: Annotated[str | None, typer.Option(help="Only this shop's.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Put dead messages back in the queue, due at once (a running server sends them next)."""
    from loyalty_sdk.core import migrate
    from loyalty_sdk.core.books import system_clock
    from loyalty_sdk.messages import backlog

    if not ids and not every:
        raise InvalidInput("name the messages to retry, or pass --all", field="id", value=None)
    with migrate.opened(get_settings().database_url) as engine:
        count = backlog.retry(engine, None if every else ids, system_clock(), shop_id=shop)
    if as_json:
        print_json({"retried": count})
    else:
        stdout().print(f"{count} message{'' if count == 1 else 's'} back in the queue")


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


__all__ = ["messages_app"]
