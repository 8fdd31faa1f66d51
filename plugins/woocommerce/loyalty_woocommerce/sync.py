"""Nothing lost: pull the orders changed since the last pull into the inbox.

WooCommerce never retries a failed delivery and disables a webhook after a few failures in a
row, so the plugin also asks: ``GET /orders?modified_after=CURSOR&orderby=modified&order=asc``,
page by page. Each order goes into the inbox as an ``order.updated`` delivery under the same
dedup key its webhook has (store, order id, ``date_modified_gmt``), so a change that came both
ways is applied once, by the same worker and code as a webhook.

Pages are walked by keyset, not by offset: after a full page the next request starts from the
newest change seen, so orders modified while the pull runs cannot shift one past it (they move
to the end, where the pull still reaches them). The cursor is kept in the shop's settings
(``sync_cursor``) and only moves forward; a page that keeps failing stops the pull where it
got to, to go on from there next time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from attrs import asdict, frozen

from loyalty_sdk.core.retry import backoff
from loyalty_sdk.server import inbox
from loyalty_sdk.server.platforms import Accepted, ShopRecord
from loyalty_woocommerce import wc_api, webhooks
from loyalty_woocommerce.connection import PLATFORM, credentials, save_settings, whole_setting

log = logging.getLogger("loyalty_woocommerce")
PER_PAGE = 50
ATTEMPTS = 3
SYNC_MINUTES = 15
"""How often the scheduled pull runs for a shop (shop setting ``sync_minutes``)."""
OVERLAP = timedelta(seconds=1)
"""``modified_after`` is strict and dates have whole seconds: ask from a second earlier so the
changes made in the cursor's own second are read again (their dedup keys make that free)."""


@frozen
class SyncReport:
    shop: str
    since: str | None
    cursor: str | None
    pages: int = 0
    orders: int = 0
    """Distinct orders read (a change in the cursor's own second is read twice, counted once)."""
    stored: int = 0
    """Changes not in the inbox before (the others came as webhooks, or in an earlier pull)."""
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _gmt(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def pull(engine: Any, shop: ShopRecord, now: datetime, *, since: datetime | None = None, per_page: int = PER_PAGE,
         attempts: int = ATTEMPTS, pause: float = 1.0, sleep: Callable[[float], None] = time.sleep) -> SyncReport:
    """Store every order changed after ``since`` (default: the shop's cursor) in the inbox.
    A shop without a cursor yet starts one at ``now``: connecting a store does not award
    points for its past orders (pass ``since`` for that)."""
    kept = shop.settings.get("sync_cursor")
    start = since or (_gmt(kept) if kept else None)
    if start is None:
        save_settings(engine, shop.id, {"sync_cursor": _text(now)})
        return SyncReport(shop.id, None, _text(now))
    api = wc_api.client(credentials(shop))
    bound, page, newest = start, 1, start
    pages = stored = 0
    seen: set[Any] = set()
    error = None
    while True:
        try:
            found = _page(api, bound, page, per_page, attempts, pause, sleep)
        except wc_api.WooCommerceError as failed:
            error = str(failed)
            log.warning("WooCommerce sync of %s stopped at %s: %s", shop.id, _text(newest), failed)
            break
        pages += 1
        seen.update(order.get("id") for order in found)
        rows = []
        for order in found:
            key = webhooks.dedup_key("order.updated", order)
            if key is None:
                continue  # no id or no modification date: not an order this can key
            rows.append(inbox.row(PLATFORM, Accepted(shop.id, "order.updated", key[:255]),
                                  {"x-wc-webhook-source": shop.id, "x-wc-webhook-topic": "order.updated",
                                   "x-loyalty-pulled": "sync"}, orjson.dumps(order), now))
            newest = max(newest, _gmt(order["date_modified_gmt"]))
        stored += len(inbox.store_many(engine, rows)) if rows else 0
        if len(found) < per_page:
            break
        if newest > bound:
            bound, page = newest, 1
        else:  # a full page of changes made in one second: the next page of that second
            page += 1
    cursor = max(newest, _gmt(kept)) if kept else newest
    save_settings(engine, shop.id, {"sync_cursor": _text(cursor), "sync_last_run": now.isoformat(),
                                    "sync_last_error": error})
    return SyncReport(shop.id, _text(start), _text(cursor), pages, len(seen), stored, error)


def _page(api: Any, bound: datetime, page: int, per_page: int, attempts: int, pause: float,
          sleep: Callable[[float], None]) -> list[dict[str, Any]]:
    for attempt in range(1, attempts + 1):
        try:
            return wc_api.orders_modified_after(api, _text(bound - OVERLAP), page, per_page)
        except wc_api.WooCommerceError as error:
            if attempt == attempts or (error.status is not None and 400 <= error.status < 500 and error.status != 429):
                raise  # out of tries, or refused for good (bad keys, no permission)
            sleep(backoff(attempt, pause, 30.0).total_seconds())
    raise AssertionError("unreachable")


def scheduled(runtime: Any, shop: ShopRecord, now: datetime) -> SyncReport | None:
    """The scheduler's pull for one shop: every ``sync_minutes`` once the store's REST keys
    are known; None when it is not due."""
    if not credentials(shop).has_rest:
        return None
    last = shop.settings.get("sync_last_run")
    every = timedelta(minutes=whole_setting(shop, "sync_minutes", SYNC_MINUTES))
    if last and now - datetime.fromisoformat(last) < every:
        return None
    try:
        return pull(runtime.db, shop, now)
    finally:
        runtime.forget(shop.id)  # its settings (cursor, last run) changed


__all__ = ["SyncReport", "pull", "scheduled"]
