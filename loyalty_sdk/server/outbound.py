"""Outbound webhooks: each shop's domain events (points posted, tier changed, reward issued,
points expiring...) POSTed to the endpoints it registered, for CRMs and marketing tools.

At least once, never lost: an event is written to the outbox in the same transaction as the
ledger change; ``fan_out`` gives every endpoint its own delivery row, so one endpoint that is
down neither blocks nor repeats the others; ``dispatch`` sends what is due and retries a
failure with exponential backoff and jitter until it is delivered or dead (after
``max_attempts``). Receivers deduplicate on the event id, the same on every retry.

Each request carries ``X-Loyalty-Event-Id``, ``X-Loyalty-Event-Kind`` and
``X-Loyalty-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>``, keyed with
the endpoint's secret (``loyalty webhooks add`` prints it; it is derived from
``LOYALTY_SECRET_KEY`` and the endpoint id, never stored).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from attrs import frozen
from sqlalchemy import and_, func, insert, literal, or_, select, update
from sqlalchemy.engine import Engine

from loyalty_sdk.core.errors import InvalidInput, ShopNotFound
from loyalty_sdk.core.ledger import stored, utc
from loyalty_sdk.core.retry import backoff, claim_due, revive
from loyalty_sdk.core.storage import outbox, shops, webhook_deliveries, webhook_endpoints
from loyalty_sdk.server.custom import sign

log = logging.getLogger("loyalty_sdk.outbound")
KINDS = ("points_posted", "tier_changed", "reward_issued", "points_expiring", "member_redacted", "member_message")
TIMEOUT_SECONDS = 5.0


def endpoint_secret(secret_key: str, endpoint_id: int) -> str:
    return hmac.new(secret_key.encode(), f"outbound-webhook:{endpoint_id}".encode(), hashlib.sha256).hexdigest()


def _write(engine: Engine) -> Any:
    return engine.execution_options(loyalty_write=True).begin()


def add_endpoint(engine: Engine, shop_id: str, url: str, kinds: Sequence[str], now: datetime) -> dict[str, Any]:
    """Register an endpoint for ``kinds`` (all kinds when empty). It receives the events
    posted from now on, not the shop's history."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(f"webhook URL must be http:// or https://, got {url!r}", field="url", value=url)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise InvalidInput(f"unknown event kind {unknown[0]!r}; expected one of {', '.join(KINDS)}", field="kind",
                           value=unknown[0])
    with _write(engine) as conn:
        if conn.execute(select(shops.c.id).where(shops.c.id == shop_id)).first() is None:
            raise ShopNotFound(f"no shop {shop_id!r} is registered", field="shop", value=shop_id)
        start = conn.execute(select(func.coalesce(func.max(outbox.c.id), 0))
                             .where(outbox.c.shop_id == shop_id)).scalar_one()
        endpoint_id = conn.execute(insert(webhook_endpoints).returning(webhook_endpoints.c.id), {
            "shop_id": shop_id, "url": url, "kinds": sorted(set(kinds)), "last_outbox_id": start,
            "created_at": utc(now)}).scalar_one()
    return {"id": endpoint_id, "shop_id": shop_id, "url": url, "kinds": sorted(set(kinds))}


def list_endpoints(engine: Engine, shop_id: str | None = None) -> list[dict[str, Any]]:
    counts = (select(webhook_deliveries.c.endpoint_id, webhook_deliveries.c.status, func.count().label("n"))
              .group_by(webhook_deliveries.c.endpoint_id, webhook_deliveries.c.status))
    query = select(webhook_endpoints).order_by(webhook_endpoints.c.id)
    if shop_id is not None:
        query = query.where(webhook_endpoints.c.shop_id == shop_id)
    with engine.connect() as conn:
        tallies: dict[int, dict[str, int]] = {}
        for endpoint_id, status, n in conn.execute(counts):
            tallies.setdefault(endpoint_id, {})[status] = n
        return [{"id": row.id, "shop_id": row.shop_id, "url": row.url, "kinds": row.kinds,
                 "created_at": stored(row.created_at), "disabled": row.disabled_at is not None,
                 "deliveries": {status: tallies.get(row.id, {}).get(status, 0) for status in ("pending", "done", "dead")}}
                for row in conn.execute(query)]


def retry(engine: Engine, now: datetime, *, endpoint_id: int | None = None, shop_id: str | None = None) -> int:
    """Put dead deliveries (of one endpoint, or of a shop's endpoints, or all) back in the
    queue, due at once with their attempts reset; the event id stays, so a receiver that
    dedupes on it sees a retry, not a new event."""
    where = []
    if endpoint_id is not None:
        where.append(webhook_deliveries.c.endpoint_id == endpoint_id)
    if shop_id is not None:
        where.append(webhook_deliveries.c.endpoint_id.in_(
            select(webhook_endpoints.c.id).where(webhook_endpoints.c.shop_id == shop_id)))
    return revive(engine, webhook_deliveries, None, utc(now), where=where)


# Ids are handed out when an event is written, but the events become visible when their
# transactions commit, which may be in another order on PostgreSQL: one written before the
# cursor moved past it can appear later with a lower id. Each pass looks this many ids back
# for events an endpoint has no delivery of yet, so such a late one is not skipped.
LOOKBACK_IDS = 1000


def fan_out(engine: Engine, now: datetime) -> int:
    """Give each active endpoint a delivery of every new event of its shop (and its kinds)."""
    created = 0
    with engine.connect() as conn:
        endpoints = conn.execute(select(webhook_endpoints).where(webhook_endpoints.c.disabled_at.is_(None))).all()
    for endpoint in endpoints:
        with _write(engine) as conn:
            # The endpoint's row lock makes concurrent fan-outs of one endpoint take turns.
            last = conn.execute(select(webhook_endpoints.c.last_outbox_id)
                                .where(webhook_endpoints.c.id == endpoint.id).with_for_update()).scalar_one()
            newest = conn.execute(select(func.coalesce(func.max(outbox.c.id), 0))
                                  .where(outbox.c.shop_id == endpoint.shop_id)).scalar_one()
            if newest > last:
                conn.execute(update(webhook_endpoints).where(webhook_endpoints.c.id == endpoint.id)
                             .values(last_outbox_id=newest))
            delivered = select(webhook_deliveries.c.id).where(webhook_deliveries.c.endpoint_id == endpoint.id,
                                                              webhook_deliveries.c.outbox_id == outbox.c.id)
            # Behind the cursor, only events written since the endpoint was added: it never gets
            # the history from before it.
            late = and_(outbox.c.id > max(last - LOOKBACK_IDS, 0), outbox.c.created_at > endpoint.created_at)
            events = select(literal(endpoint.id), outbox.c.id, literal("pending"), literal(0), literal(utc(now))).where(
                outbox.c.shop_id == endpoint.shop_id, or_(outbox.c.id > last, late), outbox.c.id <= newest,
                ~delivered.exists())
            if endpoint.kinds:
                events = events.where(outbox.c.kind.in_(endpoint.kinds))
            inserted = conn.execute(insert(webhook_deliveries).from_select(
                ["endpoint_id", "outbox_id", "status", "attempts", "next_attempt_at"], events)).rowcount
            created += max(inserted, 0)  # psycopg says -1 for an INSERT ... SELECT that found nothing
    return created


@frozen
class Dispatched:
    delivered: int
    retried: int
    dead: int


def dispatch(engine: Engine, secret_key: str | None, client: httpx.Client, now: datetime, *, limit: int = 100,
             max_attempts: int = 10, lease: timedelta | None = None, backoff_base: float = 5.0,
             backoff_cap: float = 6 * 3600.0, rng: random.Random | None = None) -> Dispatched:
    """Send the deliveries that are due; each one's outcome is recorded as soon as it is known.

    The claim's lease outlasts the worst pass (every endpoint timing out), so another process
    never takes over deliveries this one is still sending."""
    if secret_key is None:
        return Dispatched(0, 0, 0)  # nothing can be signed: leave everything pending
    lease = lease or timedelta(seconds=limit * TIMEOUT_SECONDS + 60)
    now = utc(now)
    d = webhook_deliveries.c
    claimed = claim_due(engine, webhook_deliveries, now, lease, limit, (d.endpoint_id, d.outbox_id, d.attempts))
    if not claimed:
        return Dispatched(0, 0, 0)
    with engine.connect() as conn:
        events = {row.id: row for row in conn.execute(select(outbox).where(
            outbox.c.id.in_([c.outbox_id for c in claimed])))}
        endpoints = {row.id: row for row in conn.execute(select(webhook_endpoints).where(
            webhook_endpoints.c.id.in_({c.endpoint_id for c in claimed})))}
    delivered = retried = dead = 0
    for delivery in claimed:
        event, endpoint = events[delivery.outbox_id], endpoints[delivery.endpoint_id]
        error = _send(client, secret_key, endpoint, event)
        values: dict[str, Any] = {"claimed_until": None}
        if error is None:
            values.update(status="done", delivered_at=now, last_error=None)
            delivered += 1
        elif delivery.attempts >= max_attempts:
            values.update(status="dead", last_error=error)
            dead += 1
            log.warning("webhook %s to %s dead after %d attempts: %s", delivery.id, endpoint.url, delivery.attempts,
                        error)
        else:
            wait = backoff(delivery.attempts, backoff_base, backoff_cap, rng)
            values.update(next_attempt_at=now + wait, last_error=error)
            retried += 1
        with _write(engine) as conn:
            conn.execute(update(webhook_deliveries).where(d.id == delivery.id).values(values))
    return Dispatched(delivered, retried, dead)


def event_document(event: Any) -> dict[str, Any]:
    """What a receiver gets: the event id (stable across retries), its kind, and its data."""
    return {"id": f"{event.shop_id}:{event.dedup_key}", "kind": event.kind, "shop_id": event.shop_id,
            "member_id": event.member_id, "created_at": stored(event.created_at).isoformat(),
            "data": dict(event.payload)}


def _send(client: httpx.Client, secret_key: str, endpoint: Any, event: Any) -> str | None:
    """None when the endpoint took it (any 2xx), else why not."""
    document = event_document(event)
    body = orjson.dumps(document)
    headers = {"content-type": "application/json", "x-loyalty-event-id": document["id"],
               "x-loyalty-event-kind": event.kind,
               "x-loyalty-signature": sign(endpoint_secret(secret_key, endpoint.id), body, int(time.time()))}
    try:
        answer = client.post(endpoint.url, content=body, headers=headers, timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as error:
        return f"{type(error).__name__}: {error}"[:2000]
    if 200 <= answer.status_code < 300:
        return None
    return f"HTTP {answer.status_code}: {answer.text[:500]}"


class Sender:
    """Fans out and sends outbound webhooks until stopped (a thread of ``loyalty worker`` and
    of ``loyalty serve`` with its embedded worker)."""

    def __init__(self, runtime: Any, idle_wait: float = 1.0) -> None:
        self.runtime = runtime
        self.idle_wait = idle_wait

    def run_once(self, client: httpx.Client) -> Dispatched:
        runtime = self.runtime
        fan_out(runtime.db, runtime.now())
        return dispatch(runtime.db, runtime.secret_key, client, runtime.now())

    def run(self, stop: threading.Event) -> None:
        with httpx.Client(follow_redirects=False) as client:
            while not stop.is_set():
                try:
                    sent = self.run_once(client)
                    busy = sent.delivered + sent.retried + sent.dead > 0
                except Exception:
                    log.exception("outbound webhooks: pass failed")
                    busy = False
                if not busy:
                    stop.wait(self.idle_wait)


__all__ = ["KINDS", "Dispatched", "Sender", "add_endpoint", "dispatch", "endpoint_secret", "event_document", "fan_out",
           "list_endpoints", "retry"]
