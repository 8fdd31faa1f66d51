"""The durable inbox: every accepted delivery is stored before its 200, and leaves only as
``done`` (applied) or ``dead`` (given up on, visible and retryable).

Rows move ``pending`` → ``done`` | ``dead``. A worker claims pending rows for a lease (a
minute by default): if it dies mid-batch, its rows become claimable again when the lease
runs out. Every claim counts as an attempt, so a delivery that kills its worker each time
still reaches dead-letter instead of looping forever. On PostgreSQL concurrent workers claim
with ``FOR UPDATE SKIP LOCKED`` and never wait on each other; on SQLite the claim runs under
the database's write lock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.engine import Connection, Engine

from loyalty_sdk.core.books import HotConnections
from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.ledger import Raw, stored, to_json, utc
from loyalty_sdk.core.retry import revive, status_counts
from loyalty_sdk.core.storage import inbox
from loyalty_sdk.server.platforms import Accepted, Delivery

PENDING, DONE, DEAD = "pending", "done", "dead"
STATUSES = (PENDING, DONE, DEAD)
# Headers worth keeping for a delivery's audit and reprocessing; credentials never are.
_SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


def _write(engine: Engine) -> Any:
    # BEGIN IMMEDIATE on SQLite: the write lock up front, never a failed upgrade mid-way.
    return engine.execution_options(loyalty_write=True).begin()


def _kept(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name not in _SECRET_HEADERS}


def row(platform: str, accepted: Accepted, headers: Mapping[str, str], body: bytes, at: datetime) -> dict[str, Any]:
    """The inbox row of a verified delivery."""
    return {
        "platform": platform, "shop_id": accepted.shop_id, "topic": accepted.topic[:128],
        "dedup_key": accepted.dedup_key, "headers": _kept(headers), "body": body, "received_at": utc(at),
        "status": PENDING, "attempts": 0, "next_attempt_at": utc(at),
    }


def identity(stored_row: Mapping[str, Any]) -> tuple[str, str, str]:
    return stored_row["platform"], stored_row["shop_id"], stored_row["dedup_key"]


_COLUMNS = ("platform", "shop_id", "topic", "dedup_key", "headers", "body", "received_at", "status", "attempts",
            "next_attempt_at")


def _insert_sql(postgres: bool) -> str:
    marks = ", ".join("%s::json" if postgres and column == "headers" else ("%s" if postgres else "?")
                      for column in _COLUMNS)
    returning = " RETURNING platform, shop_id, dedup_key" if postgres else ""
    return (f"INSERT INTO inbox ({', '.join(_COLUMNS)}) VALUES ({marks})"
            f" ON CONFLICT (platform, shop_id, dedup_key) DO NOTHING{returning}")


_INSERT = {True: _insert_sql(True), False: _insert_sql(False)}


def store_many(engine: Engine | Raw, rows: Sequence[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """Store deliveries in one transaction (one commit for many requests); answers the
    identities that were new. Rows seen before, in the database or earlier in ``rows``, store
    nothing. Written on the driver connection: this is the ingestion hot path."""
    fresh: dict[tuple[str, str, str], dict[str, Any]] = {}
    for candidate in rows:
        fresh.setdefault(identity(candidate), candidate)
    if not fresh:
        return set()
    if not isinstance(engine, Raw):
        connections = HotConnections(engine)
        try:
            with connections.use() as raw:
                return store_many(raw, rows)
        finally:
            connections.close()
    raw = engine
    sql = _INSERT[raw.postgres]
    values = [tuple(to_json(row[c]) if c == "headers" else raw.stamp(row[c]) if c.endswith("_at") else row[c]
                    for c in _COLUMNS) for row in fresh.values()]
    new: set[tuple[str, str, str]] = set()
    with raw.transaction(statements=len(values)):
        cursor = raw.cursor()
        if raw.postgres:
            cursor.executemany(sql, values, returning=True)
            while True:
                found = cursor.fetchone()
                if found is not None:
                    new.add(tuple(found))
                if not cursor.nextset():
                    break
        else:
            for key, value in zip(fresh, values, strict=True):
                cursor.execute(sql, value)
                if cursor.rowcount == 1:
                    new.add(key)
    return new


def claim(engine: Engine, worker: str, limit: int, now: datetime, lease: timedelta) -> list[Delivery]:
    """Take up to ``limit`` deliveries that are due and not held by a live lease."""
    now = utc(now)
    due = (select(inbox.c.id)
           .where(inbox.c.status == PENDING, inbox.c.next_attempt_at <= now,
                  or_(inbox.c.claimed_until.is_(None), inbox.c.claimed_until < now))
           .order_by(inbox.c.id).limit(limit))  # arrival order
    postgres = engine.dialect.name == "postgresql"
    if postgres:
        due = due.with_for_update(skip_locked=True)
    statement = (update(inbox).where(inbox.c.id.in_(due.scalar_subquery()))
                 .values(claimed_by=worker, claimed_until=now + lease, attempts=inbox.c.attempts + 1)
                 .returning(inbox.c.id, inbox.c.platform, inbox.c.shop_id, inbox.c.topic, inbox.c.dedup_key,
                            inbox.c.headers, inbox.c.body, inbox.c.received_at, inbox.c.attempts))
    with _write(engine) as conn:
        rows = conn.execute(statement).all()
    return sorted((Delivery(r.id, r.platform, r.shop_id, r.topic, r.dedup_key, r.headers, bytes(r.body),
                            stored(r.received_at), r.attempts) for r in rows), key=lambda d: d.id)


def complete(engine: Engine, done: Sequence[tuple[Delivery, Any]], worker: str, now: datetime) -> None:
    """Mark deliveries applied, with what each did, in one transaction (only those this worker
    still holds: one whose lease ran out belongs to whoever took it over)."""
    if not done:
        return
    statement = (update(inbox).where(inbox.c.id == bindparam("delivery_id"), inbox.c.claimed_by == worker)
                 .values(status=DONE, processed_at=utc(now), claimed_by=None, claimed_until=None, last_error=None,
                         outcome=bindparam("result")))
    with _write(engine) as conn:
        conn.execute(statement, [{"delivery_id": delivery.id, "result": outcome} for delivery, outcome in done])


def fail(engine: Engine, delivery: Delivery, worker: str, now: datetime, error: str, *, retry_in: timedelta | None,
         ) -> str:
    """Record a failed attempt: due again after ``retry_in``, or dead-lettered when None."""
    values: dict[str, Any] = {"claimed_by": None, "claimed_until": None, "last_error": error[:4000]}
    if retry_in is None:
        values.update(status=DEAD, processed_at=utc(now))
    else:
        values.update(next_attempt_at=utc(now + retry_in))
    with _write(engine) as conn:
        conn.execute(update(inbox).where(inbox.c.id == delivery.id, inbox.c.claimed_by == worker).values(values))
    return DEAD if retry_in is None else PENDING


def retry(engine: Engine, ids: Sequence[int] | None, now: datetime, *, shop_id: str | None = None) -> int:
    """Put dead deliveries back in the queue (all of them, or those named), attempts reset."""
    return revive(engine, inbox, ids, utc(now), shop_id=shop_id, processed_at=None, claimed_by=None)


def scrub(engine: Engine, shop_id: str, needles: Sequence[str], also: int | None = None) -> int:
    """Blank the body and headers of the shop's settled deliveries that mention any of
    ``needles`` (a customer's id or email), and of delivery ``also`` (the redaction request
    itself): personal data must not outlive a redaction in the raw payloads we kept."""
    wanted = [needle.encode() for needle in needles if needle]
    if not wanted:
        return 0
    postgres = engine.dialect.name == "postgresql"
    mention = "position({} in body) > 0" if postgres else "instr(body, {}) > 0"
    mark = "%s" if postgres else "?"
    headers = "'{}'::json" if postgres else "'{}'"
    sql = (f"UPDATE inbox SET body = {mark}, headers = {headers} WHERE shop_id = {mark} AND ((status <> 'pending'"
           f" AND ({' OR '.join(mention.format(mark) for _ in wanted)})) OR id = {mark})")
    with _write(engine) as conn:
        return conn.exec_driver_sql(sql, (b"{}", shop_id, *wanted, also if also is not None else -1)).rowcount


def listing(conn: Connection, *, status: str | None = None, shop_id: str | None = None,
            limit: int = 50) -> list[dict[str, Any]]:
    """The newest deliveries, without bodies."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}, got {status!r}", field="status",
                           value=status)
    query = select(inbox.c.id, inbox.c.platform, inbox.c.shop_id, inbox.c.topic, inbox.c.dedup_key,
                   inbox.c.status, inbox.c.attempts, inbox.c.received_at, inbox.c.next_attempt_at,
                   inbox.c.processed_at, inbox.c.last_error)
    if status is not None:
        query = query.where(inbox.c.status == status)
    if shop_id is not None:
        query = query.where(inbox.c.shop_id == shop_id)
    rows = conn.execute(query.order_by(inbox.c.id.desc()).limit(limit)).all()
    return [_public(row._mapping) for row in rows]


def show(conn: Connection, delivery_id: int) -> dict[str, Any] | None:
    """One delivery with its headers, body (as text) and outcome."""
    row = conn.execute(select(inbox).where(inbox.c.id == delivery_id)).first()
    if row is None:
        return None
    found = _public(row._mapping)
    found["body"] = bytes(row.body).decode("utf-8", errors="replace")
    return found


def counts(conn: Connection, *, shop_id: str | None = None) -> dict[str, int]:
    """Deliveries per status, of every shop or of one."""
    return status_counts(conn, inbox, STATUSES, shop_id=shop_id)


def _public(row: Mapping[str, Any]) -> dict[str, Any]:
    result = {key: value for key, value in row.items() if key not in ("body", "claimed_by", "claimed_until")}
    for key in ("received_at", "next_attempt_at", "processed_at"):
        if key in result:
            moment = stored(result[key])
            result[key] = None if moment is None else moment.isoformat()
    return result


__all__ = ["DEAD", "DONE", "PENDING", "claim", "complete", "counts", "fail", "identity", "listing",
           "retry", "row", "scrub", "show", "store_many"]
