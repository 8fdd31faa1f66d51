"""The server's commands: ``loyalty serve``, ``loyalty worker``, ``loyalty inbox`` and
``loyalty apikey``. Registered on the ``loyalty`` app by :func:`register`; the web stack is
imported only when a server command runs, so the other commands start fast.
"""

from __future__ import annotations

import os
import signal
import threading
from datetime import timedelta
from enum import Enum
from typing import Annotated, Any

import typer

from loyalty_sdk.console import JsonFlag, print_json, print_table, stdout, when
from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.ledger import stored
from loyalty_sdk.settings import get_settings

EMBEDDED_ENV = "LOYALTY_SERVE_EMBEDDED"
"""Tells ``from_environment`` in each uvicorn process whether to run the worker and jobs."""

inbox_app = typer.Typer(no_args_is_help=True, help="Webhook deliveries: pending, done and dead-letter.")
apikey_app = typer.Typer(no_args_is_help=True, help="Bearer keys for the REST API.")


webhooks_app = typer.Typer(no_args_is_help=True, help="Outbound webhooks: where each shop's events are sent.")


def platform_commands() -> dict[str, typer.Typer]:
    """The ``commands`` (Typer apps) of the platform adapters plugins contribute, by platform
    name: ``loyalty <platform> ...``. Loaded only when such a command, or the command list, is
    asked for, so the other commands start without importing every plugin."""
    from loyalty_sdk.core.plugin_host import PluginHost

    found: dict[str, typer.Typer] = {}
    for contributed in PluginHost().pm.hook.loyalty_platforms():
        for adapter in contributed or ():
            commands = getattr(adapter, "commands", None)
            if commands is not None:
                found.setdefault(adapter.name, commands)
    return found


def register(app: typer.Typer, shops_app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(worker)
    app.add_typer(inbox_app, name="inbox")
    app.add_typer(apikey_app, name="apikey")
    app.add_typer(webhooks_app, name="webhooks")
    shops_app.command("secret")(shop_secret)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Server processes (uvicorn workers).")] = 1,
    embedded: Annotated[bool, typer.Option(
        "--embedded-worker/--no-embedded-worker",
        help="Process deliveries and run the scheduled jobs inside the server. Turn off when "
             "`loyalty worker` processes run them.")] = True,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
) -> None:
    """Serve webhooks and the REST API (docs at /docs)."""
    import uvicorn

    settings = get_settings()
    _check_server_settings()
    os.environ[EMBEDDED_ENV] = "1" if embedded else "0"
    stdout().print(f"loyalty serving http://{host}:{port} on {settings.safe_database_url}"
                   f" ({workers} process{'es' if workers > 1 else ''},"
                   f" {'embedded worker and jobs' if embedded else 'no embedded worker'})")
    uvicorn.run("loyalty_sdk.server.app:from_environment", factory=True, host=host, port=port, workers=workers,
                access_log=access_log, log_level="info", timeout_graceful_shutdown=10)


def worker(
    batch: Annotated[int, typer.Option(min=1, max=1000, help="Deliveries claimed per pass.")] = 50,
    max_attempts: Annotated[int, typer.Option(min=1, help="Attempts before a delivery is dead-lettered.")] = 8,
    jobs: Annotated[bool, typer.Option("--jobs/--no-jobs", help="Also run the scheduled jobs (under a lease).")] = True,
    lease: Annotated[float, typer.Option(min=1, help="Seconds a claimed batch stays this worker's; a worker "
                                         "that dies releases its batch when the lease runs out.")] = 60,
) -> None:
    """Process webhook deliveries from the inbox, and send outbound webhooks, until stopped
    (SIGTERM or Ctrl-C)."""
    from loyalty_sdk.server.outbound import Sender
    from loyalty_sdk.server.runtime import Runtime
    from loyalty_sdk.server.scheduler import Scheduler
    from loyalty_sdk.server.worker import Worker, WorkerOptions

    runtime = Runtime()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    helpers = [threading.Thread(target=Sender(runtime).run, args=(stop,), name="loyalty-outbound", daemon=True)]
    if jobs:
        helpers.append(threading.Thread(target=Scheduler(runtime).run, args=(stop,), name="loyalty-jobs", daemon=True))
    for helper in helpers:
        helper.start()
    process = Worker(runtime, WorkerOptions(batch=batch, max_attempts=max_attempts, lease=timedelta(seconds=lease)))
    stdout().print(f"loyalty worker {process.name} on {runtime.settings.safe_database_url}")
    try:
        process.run(stop)
    finally:
        stop.set()
        for helper in helpers:
            helper.join(timeout=30)
        runtime.close()


def _check_server_settings() -> None:
    settings = get_settings()
    if settings.secret_key is None:
        stdout().print("[yellow]LOYALTY_SECRET_KEY is not set: custom-store webhooks will be refused[/]")
    if settings.api_key is None:
        stdout().print("[yellow]LOYALTY_API_KEY is not set: the REST API takes shop keys only "
                       "(loyalty apikey create)[/]")


# -- inbox ---------------------------------------------------------------------------------------


def _database() -> Any:
    """The configured database, its schema up to date (a context manager)."""
    from loyalty_sdk.core import migrate

    return migrate.opened(get_settings().database_url)


@inbox_app.command("list")
def inbox_list(
    status: Annotated[str | None, typer.Option(help="pending, done or dead.")] = None,
    shop: Annotated[str | None, typer.Option(help="Only this shop's deliveries.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: JsonFlag = False,
) -> None:
    """The newest deliveries with their status, attempts and last error."""
    from loyalty_sdk.server import inbox

    with _database() as engine:
        with engine.connect() as conn:
            rows = inbox.listing(conn, status=status, shop_id=shop, limit=limit)
            counts = inbox.counts(conn)
    if as_json:
        print_json({"deliveries": rows, "counts": counts})
        return
    print_table(f"Inbox: {counts['pending']:,} pending, {counts['done']:,} done, {counts['dead']:,} dead",
                ("id", "platform", "shop", "topic", "status", "attempts", "received", "last error"),
                ((row["id"], row["platform"], row["shop_id"], row["topic"], row["status"], row["attempts"],
                  when(stored(row["received_at"])), (row["last_error"] or "")[:80]) for row in rows))


@inbox_app.command("show")
def inbox_show(delivery_id: Annotated[int, typer.Argument(metavar="ID")], as_json: JsonFlag = False) -> None:
    """One delivery: headers, body, outcome and last error."""
    from loyalty_sdk.server import inbox

    with _database() as engine:
        with engine.connect() as conn:
            found = inbox.show(conn, delivery_id)
    if found is None:
        raise InvalidInput(f"no delivery {delivery_id} in the inbox", field="id", value=delivery_id)
    if as_json:
        print_json(found)
        return
    console = stdout()
    for key in ("id", "platform", "shop_id", "topic", "dedup_key", "status", "attempts", "received_at",
                "next_attempt_at", "processed_at", "last_error", "outcome"):
        console.print(f"[bold]{key}[/]: {found[key]}")
    console.print("[bold]headers[/]:", found["headers"])
    console.print("[bold]body[/]:", found["body"], markup=False)


@inbox_app.command("retry")
def inbox_retry(
    ids: Annotated[list[int] | None, typer.Argument(metavar="[ID]...", help="Dead deliveries to retry.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Retry every dead delivery.")] = False,
    shop: Annotated[str | None, typer.Option(help="With --all: only this shop's.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Put dead-lettered deliveries back in the queue, their attempts reset."""
    from loyalty_sdk.core.books import system_clock
    from loyalty_sdk.server import inbox

    if not ids and not every:
        raise InvalidInput("name the deliveries to retry, or pass --all", field="id", value=None)
    with _database() as engine:
        count = inbox.retry(engine, None if every else ids, system_clock(), shop_id=shop)
    if as_json:
        print_json({"retried": count})
    else:
        stdout().print(f"{count} deliver{'y' if count == 1 else 'ies'} back in the queue")


# -- API keys ---------------------------------------------------------------------------------


class Scope(str, Enum):
    read = "read"
    write = "write"


@apikey_app.command("create")
def apikey_create(
    shop: Annotated[str, typer.Option(help="The shop the key works for (and only that shop).")],
    scope: Annotated[Scope, typer.Option(help="read: look up; write: also record and spend.")] = Scope.read,
    label: Annotated[str | None, typer.Option(help="What the key is for, to recognise it later.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a bearer key for the REST API. It is shown once: only its digest is stored."""
    from loyalty_sdk.server import auth

    with _database() as engine:
        key, info = auth.create_key(engine, shop, scope.value, label)
    if as_json:
        print_json({**info, "key": key})
        return
    console = stdout()
    console.print(f"{scope.value} key {info['id']} for shop {shop!r} (shown once, keep it secret):")
    typer.echo(key)


@apikey_app.command("list")
def apikey_list(shop: Annotated[str | None, typer.Option(help="Only this shop's keys.")] = None,
                as_json: JsonFlag = False) -> None:
    """Keys by id, shop, scope and prefix (never the keys themselves)."""
    from loyalty_sdk.server import auth

    with _database() as engine:
        keys = auth.list_keys(engine, shop)
    if as_json:
        print_json({"keys": keys})
        return
    print_table("API keys", ("id", "shop", "scope", "prefix", "label", "created", "revoked"),
                ((k["id"], k["shop_id"], k["scope"], k["prefix"] + "…", k["label"] or "", when(k["created_at"]),
                  when(k["revoked_at"])) for k in keys))


@apikey_app.command("revoke")
def apikey_revoke(key_id: Annotated[int, typer.Argument(metavar="ID")], as_json: JsonFlag = False) -> None:
    """Revoke a key: refused from then on (within seconds in every server process)."""
    from loyalty_sdk.server import auth

    with _database() as engine:
        info = auth.revoke_key(engine, key_id)
    if as_json:
        print_json(info)
    else:
        stdout().print(f"key {key_id} revoked")


# -- outbound webhooks ------------------------------------------------------------------------


@webhooks_app.command("add")
def webhooks_add(
    url: Annotated[str, typer.Argument(help="Where to POST the events (http:// or https://).")],
    shop: Annotated[str, typer.Option(help="Whose events.")] = "default",
    kind: Annotated[list[str] | None, typer.Option(help="Only these event kinds (repeat); default: all.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Send a shop's events to URL, signed; prints the endpoint's signing secret (once)."""
    from loyalty_sdk.core.books import system_clock
    from loyalty_sdk.server import outbound

    key = get_settings().secret_key
    if key is None:
        raise InvalidInput("LOYALTY_SECRET_KEY must be set: webhook signing secrets are derived from it",
                           field="LOYALTY_SECRET_KEY", value=None)
    with _database() as engine:
        endpoint = outbound.add_endpoint(engine, shop, url, kind or [], system_clock())
    endpoint["secret"] = outbound.endpoint_secret(key.get_secret_value(), endpoint["id"])
    if as_json:
        print_json(endpoint)
        return
    console = stdout()
    console.print(f"endpoint {endpoint['id']}: {shop} events ({', '.join(endpoint['kinds']) or 'all kinds'})"
                  f" to {url}")
    console.print(f"signing secret: {endpoint['secret']}", markup=False)


@webhooks_app.command("list")
def webhooks_list(
    shop: Annotated[str | None, typer.Option(help="Only this shop's endpoints.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Endpoints with how many deliveries are pending, done and dead."""
    from loyalty_sdk.server import outbound

    with _database() as engine:
        endpoints = outbound.list_endpoints(engine, shop)
    if as_json:
        print_json({"endpoints": endpoints})
        return
    print_table("Outbound webhooks", ("id", "shop", "url", "kinds", "pending", "done", "dead"),
                ((e["id"], e["shop_id"], e["url"], ", ".join(e["kinds"]) or "all",
                  *(e["deliveries"][status] for status in ("pending", "done", "dead"))) for e in endpoints))


@webhooks_app.command("retry")
def webhooks_retry(
    endpoint: Annotated[int | None, typer.Option(help="Only this endpoint's deliveries.")] = None,
    shop: Annotated[str | None, typer.Option(help="Only this shop's endpoints.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Send dead deliveries again (every endpoint's, or one's): once the endpoint is back."""
    from loyalty_sdk.core.books import system_clock
    from loyalty_sdk.server import outbound

    with _database() as engine:
        count = outbound.retry(engine, system_clock(), endpoint_id=endpoint, shop_id=shop)
    if as_json:
        print_json({"retried": count})
    else:
        stdout().print(f"{count} deliver{'y' if count == 1 else 'ies'} back in the queue")


# -- shops: the custom platform's webhook secret ----------------------------------------------


def shop_secret(shop_id: Annotated[str, typer.Argument(metavar="ID")], as_json: JsonFlag = False) -> None:
    """The signing secret a custom store uses for its webhooks to this shop."""
    from loyalty_sdk.server.custom import webhook_secret

    key = get_settings().secret_key
    if key is None:
        raise InvalidInput("LOYALTY_SECRET_KEY must be set: webhook secrets are derived from it",
                           field="LOYALTY_SECRET_KEY", value=None)
    secret = webhook_secret(key.get_secret_value(), shop_id)
    if as_json:
        print_json({"shop": shop_id, "webhook_secret": secret})
    else:
        typer.echo(secret)


__all__ = ["EMBEDDED_ENV", "platform_commands", "register"]
