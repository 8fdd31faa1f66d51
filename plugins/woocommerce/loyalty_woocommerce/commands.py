"""``loyalty woocommerce ...``: connect a store, pull what webhooks missed, look after the
store's webhooks. Mounted by the ``loyalty`` command from the adapter's ``commands``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from sqlalchemy import select

from loyalty_sdk.console import JsonFlag, print_json, print_table, stderr, stdout
from loyalty_sdk.core.errors import InvalidInput, ShopNotFound
from loyalty_sdk.core.storage import shops
from loyalty_woocommerce import connection, sync, wc_api, webhooks

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="WooCommerce stores: connect, sync orders, check webhooks.")
ShopOption = Annotated[str | None, typer.Option("--shop", help="The store URL (shop id); default: every "
                                                               "WooCommerce shop.")]
WEBHOOK_PATH = "/webhooks/woocommerce"


@contextmanager
def _runtime() -> Iterator[Any]:
    from loyalty_sdk.server.runtime import Runtime

    with Runtime() as runtime:
        yield runtime


def _shops(runtime: Any, shop: str | None) -> list[Any]:
    if shop is not None:
        found = connection.find_shop(runtime.shop, shop)
        if found is None:
            raise ShopNotFound(f"no WooCommerce shop {shop!r}; add it with `loyalty shops add woocommerce URL`",
                               field="shop", value=shop)
        return [found]
    with runtime.db.connect() as conn:
        ids = conn.scalars(select(shops.c.id).where(shops.c.platform == connection.PLATFORM).order_by(shops.c.id))
        return [runtime.shop(shop_id) for shop_id in ids]


@contextmanager
def _store_errors() -> Iterator[None]:
    """A store that cannot be asked is an error message and exit status 1, not a traceback."""
    try:
        yield
    except wc_api.WooCommerceError as error:
        stderr().print(f"error: {error}", style="red", markup=False)
        raise typer.Exit(1) from None


@app.command("connect")
def connect(
    url: Annotated[str, typer.Argument(help="The store URL, as registered with `loyalty shops add woocommerce`.")],
    consumer_key: Annotated[str | None, typer.Option(help="REST API consumer key (ck_...), read/write.")] = None,
    consumer_secret: Annotated[str | None, typer.Option(help="REST API consumer secret (cs_...).")] = None,
    webhook_secret: Annotated[str | None, typer.Option(help="The secret the store's webhooks are saved with.")] = None,
    api_url: Annotated[str | None, typer.Option(help="Where the REST API answers, if not at the store URL.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Keep a store's keys, encrypted, in its shop's settings (needs LOYALTY_SECRET_KEY)."""
    if not any((consumer_key, consumer_secret, webhook_secret, api_url)):
        raise InvalidInput("give --consumer-key and --consumer-secret, --webhook-secret, or --api-url",
                           field="keys", value=None)
    with _runtime() as runtime:
        [shop] = _shops(runtime, url)
        done = connection.connect(runtime.db, shop.id, consumer_key=consumer_key, consumer_secret=consumer_secret,
                                  webhook_secret=webhook_secret, api_url=api_url)
    if as_json:
        print_json(done)
        return
    have = ", ".join(name.replace("_", " ") for name in ("consumer_key", "consumer_secret", "webhook_secret")
                     if done[name])
    stdout().print(f"{done['shop']}: keys kept ({have}); REST API at {done['api_url']}")


def parse_since(text: str) -> datetime:
    """``2026-03-01`` (midnight UTC) or a datetime (UTC unless it has an offset)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"--since must be a date or datetime like 2026-03-01 or 2026-03-01T12:00, got {text!r}",
                           field="since", value=text) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@app.command("sync")
def sync_command(
    shop: ShopOption = None,
    since: Annotated[str | None, typer.Option(help="Pull orders changed after this (UTC); default: since the "
                                                   "last pull.")] = None,
    apply: Annotated[bool, typer.Option("--apply/--no-apply", help="Apply what was pulled now, as a worker "
                                        "would (otherwise the running server's worker does).")] = True,
    as_json: JsonFlag = False,
) -> None:
    """Pull the orders changed since the last pull (or --since) through the webhooks' pipeline:
    a change that also came as a webhook is applied once. Exits 1 when a store could not be read."""
    from loyalty_sdk.server.worker import Worker

    moment = parse_since(since) if since else None
    reports = []
    with _runtime() as runtime:
        for found in _shops(runtime, shop):
            if not connection.credentials(found).has_rest:
                reports.append(sync.SyncReport(found.id, None, None, error="no REST API keys (loyalty woocommerce "
                                                                            "connect)"))
                continue
            reports.append(sync.pull(runtime.db, found, runtime.now(), since=moment))
            runtime.forget(found.id)
        applied = Worker(runtime, name="loyalty-woocommerce-sync").drain() if apply else None
    if as_json:
        print_json({"shops": [report.as_dict() for report in reports],
                    "applied": None if applied is None else {"done": applied.done, "retried": applied.retried,
                                                             "dead": applied.dead}})
    else:
        print_table("WooCommerce sync", ("shop", "from", "to", "orders", "new", "error"),
                    ((r.shop, r.since or "-", r.cursor or "-", r.orders, r.stored, r.error or "") for r in reports))
        if applied is not None:
            stdout().print(f"applied {applied.done} deliveries ({applied.retried} to retry, {applied.dead} dead)")
    if any(report.error for report in reports):
        raise typer.Exit(1)


@app.command("webhooks")
def webhooks_command(
    shop: ShopOption = None,
    enable: Annotated[bool, typer.Option("--enable", help="Re-enable the loyalty webhooks WooCommerce disabled "
                                                          "or that were paused.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """The store's webhook subscriptions for loyalty topics, their status, and the topics with
    no active one. WooCommerce disables a webhook after repeated failed deliveries."""
    rows: list[dict[str, Any]] = []
    with _runtime() as runtime, _store_errors():
        for found in _shops(runtime, shop):
            api = wc_api.client(connection.credentials(found))
            ours = [hook for hook in wc_api.webhooks(api) if hook.get("topic") in webhooks.HANDLERS
                    and str(hook.get("delivery_url", "")).rstrip("/").endswith(WEBHOOK_PATH)]
            for hook in ours:
                status = hook.get("status")
                if enable and status in ("disabled", "paused"):
                    status = wc_api.set_webhook_status(api, str(hook["id"]), "active").get("status", status)
                rows.append({"shop": found.id, "id": hook["id"], "topic": hook["topic"], "status": status,
                             "was": hook.get("status"), "delivery_url": hook.get("delivery_url")})
            active = {row["topic"] for row in rows if row["shop"] == found.id and row["status"] == "active"}
            rows += [{"shop": found.id, "id": None, "topic": topic, "status": "missing", "was": None,
                      "delivery_url": None} for topic in webhooks.HANDLERS if topic not in active
                     and not any(r["shop"] == found.id and r["topic"] == topic for r in rows)]
    if as_json:
        print_json({"webhooks": rows})
        return
    print_table("WooCommerce webhooks", ("shop", "id", "topic", "status", "delivery url"),
                ((r["shop"], r["id"] or "-", r["topic"],
                  r["status"] + (f" (was {r['was']})" if r["was"] and r["was"] != r["status"] else ""),
                  r["delivery_url"] or "-") for r in rows))


__all__ = ["app", "parse_since"]
