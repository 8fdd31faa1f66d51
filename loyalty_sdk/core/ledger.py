"""The points ledger: double-entry postings, lots, idempotency and balances.

Every function here runs inside one write transaction the caller opened (``Books.write()``)
and either posts everything it was asked to or raises before anything is committed.

Accounts: member ``available`` and ``pending``; program ``issued``, ``redeemed``, ``expired``,
``clawed_back`` and ``adjusted``. Each transaction's entries sum to zero. Member balances and
lot remainders are materialized in the same transaction as the entries that explain them.

Credits (earning) are the hot path and use one pre-written statement sequence per dialect:
on PostgreSQL a single data-modifying CTE (one round trip, no lock held between statements),
on SQLite a handful of statements on the raw DB-API cursor inside ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple

import orjson
import psycopg
from attrs import field, frozen
from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from loyalty_sdk.core.errors import IdempotencyConflict, InsufficientPoints
from loyalty_sdk.core.storage import entries, lots, outbox


def utc(moment: datetime) -> datetime:
    """Aware datetimes are stored in UTC; SQLite keeps no offset, so normalize first."""
    return moment.astimezone(UTC)


def stored(moment: datetime | None) -> datetime | None:
    """A datetime read back from the database, aware in UTC on every engine."""
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _json(value: Any) -> str:
    # orjson: the ledger writes three JSON documents per posting; the stdlib encoder cost
    # more than the database did.
    return orjson.dumps(value).decode()


@lru_cache(maxsize=8192)
def _sqlite_stamp(moment: datetime | None) -> str | None:
    # The exact text SQLAlchemy's SQLite DateTime type writes, so both paths compare alike.
    # Cached: a batch repeats the same few instants (recorded_at, an order's own times).
    return None if moment is None else utc(moment).strftime("%Y-%m-%d %H:%M:%S.%f")


@frozen
class OrderRecord:
    order_id: str
    placed_at: datetime
    currency: str
    gross_minor: int
    eligible_minor: int
    source: str


@frozen
class Credit:
    """Points given to a member: an earn, an activity, a positive adjustment or a reversal."""

    shop_id: str
    member_id: int
    key: str
    payload_hash: str
    kind: str
    points: int
    pending: bool
    available_at: datetime
    expires_at: datetime | None
    event_at: datetime
    recorded_at: datetime
    reason: str
    program_version: str
    cause: Mapping[str, Any] = field(factory=dict)
    detail: Mapping[str, Any] = field(factory=dict)
    program_account: str = "issued"
    tier_spend_minor: int = 0
    tier_orders: int = 0
    activity: str | None = None
    order: OrderRecord | None = None
    refers_to: int | None = None
    order_id: str | None = None


@frozen
class Posted:
    """What a posting did. ``replayed`` means the key was seen before with the same payload and
    nothing changed; ``transaction_id`` then names the original transaction."""

    transaction_id: int
    member_id: int
    points: int
    replayed: bool = False
    payload_hash: str | None = field(default=None, repr=False)


@frozen
class Draw:
    lot_id: int
    points: int


@frozen
class Raw:
    """A driver-level (DB-API) connection for the hot path, and whether it speaks PostgreSQL.

    Credits skip SQLAlchemy's per-statement machinery (tens of microseconds a call) and run
    pre-written SQL; everything else goes through SQLAlchemy Core.
    """

    connection: Any
    postgres: bool

    @classmethod
    def of(cls, conn: Connection | Raw) -> Raw:
        if isinstance(conn, Raw):
            return conn
        return cls(conn.connection.driver_connection, conn.dialect.name == "postgresql")

    def cursor(self) -> Any:
        return self.connection.cursor()

    @property
    def mark(self) -> str:
        """The driver's parameter placeholder."""
        return "%s" if self.postgres else "?"

    def stamp(self, moment: datetime | None) -> Any:
        """A datetime as this driver stores it (SQLite keeps UTC text)."""
        return moment if self.postgres else _sqlite_stamp(moment)

    def marks(self, count: int) -> str:
        return ", ".join([self.mark] * count)

    @contextmanager
    def transaction(self, *, statements: int = 2) -> Iterator[None]:
        """One write transaction on an autocommit connection: ``BEGIN IMMEDIATE`` on SQLite.
        On PostgreSQL a single statement needs none, as it commits atomically by itself."""
        if self.postgres:
            if statements == 1:
                yield
            else:
                with self.connection.transaction():
                    yield
            return
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.connection.rollback()
            raise
        self.connection.execute("COMMIT")


# ---------------------------------------------------------------------------------------------
# Idempotency
# ---------------------------------------------------------------------------------------------


def existing(conn: Connection | Raw, shop_id: str, key: str) -> Posted | None:
    """The transaction posted under ``key`` (with ``replayed`` set), or None."""
    raw = Raw.of(conn)
    mark = "%s" if raw.postgres else "?"
    cursor = raw.cursor()
    cursor.execute(
        f"SELECT id, member_id, points, payload_hash FROM transactions WHERE shop_id = {mark}"
        f" AND idempotency_key = {mark}",
        (shop_id, key),
    )
    row = cursor.fetchone()
    return None if row is None else Posted(row[0], row[1], row[2], replayed=True, payload_hash=row[3])


def replay_or_conflict(conn: Connection | Raw, shop_id: str, key: str, payload_hash: str) -> Posted | None:
    """The original posting when ``key`` was used with the same payload; raises when it was used
    with a different one; None when the key is new."""
    found = existing(conn, shop_id, key)
    if found is None:
        return None
    if found.payload_hash != payload_hash:
        raise IdempotencyConflict(
            f"idempotency key {key!r} was already used for a different payload (transaction {found.transaction_id})",
            field="idempotency_key",
            value=key,
        )
    return found


# ---------------------------------------------------------------------------------------------
# Credits: the hot path
# ---------------------------------------------------------------------------------------------


def credit(conn: Connection | Raw, c: Credit) -> Posted:
    """Post a credit; a replayed key returns the original posting and changes nothing."""
    raw = Raw.of(conn)
    return _credit_postgres(raw, c) if raw.postgres else _credit_sqlite(raw, c)


def credit_many(conn: Connection | Raw, credits: Sequence[Credit]) -> list[Posted]:
    """Post a batch of credits in the caller's one transaction (imports, backfills).

    On PostgreSQL the statements are pipelined: one network round trip for the whole batch.
    """
    raw = Raw.of(conn)
    if len(credits) < 2:
        return [credit(raw, c) for c in credits]
    if not raw.postgres:
        return _credit_many_sqlite(raw, credits)
    cursors = []
    with raw.connection.pipeline():
        for c in credits:
            cursor = raw.cursor()
            cursor.execute(_POSTGRES_CREDIT, _postgres_params(c), prepare=True)
            cursors.append(cursor)
    return [_postgres_result(raw, c, cursor.fetchone()) for c, cursor in zip(credits, cursors, strict=True)]


_TXN_COLUMNS = (
    "shop_id, member_id, idempotency_key, payload_hash, kind, points, order_id, refers_to, reason, cause, detail,"
    " event_at, recorded_at, program_version, tier_points, tier_spend_minor, tier_orders, tier_at, activity"
)
_LOT_COLUMNS = "shop_id, member_id, transaction_id, points, remaining, status, earned_at, available_at, expires_at"
_SQLITE_TXN = (
    f"INSERT INTO transactions ({_TXN_COLUMNS}) VALUES ({', '.join('?' * 19)})"
    " ON CONFLICT (shop_id, idempotency_key) DO NOTHING"
)
# Batches assign ids themselves (they hold the write lock), so keys were checked beforehand.
_SQLITE_TXN_WITH_ID = f"INSERT INTO transactions (id, {_TXN_COLUMNS}) VALUES ({', '.join('?' * 20)})"
_SQLITE_MEMBER_DELTA = (
    "UPDATE members SET available = available + ?, pending = pending + ?,"
    " lifetime_points = lifetime_points + ?, last_activity_at = max(coalesce(last_activity_at, ''), ?)"
    " WHERE id = ? AND shop_id = ?"
)
_SQLITE_MEMBER = _SQLITE_MEMBER_DELTA + " RETURNING available"
_SQLITE_LOT = f"INSERT INTO lots ({_LOT_COLUMNS}) VALUES ({', '.join('?' * 9)})"
_SQLITE_LOT_WITH_ID = f"INSERT INTO lots (id, {_LOT_COLUMNS}) VALUES ({', '.join('?' * 10)})"
_SQLITE_ENTRY = (
    "INSERT INTO entries (shop_id, transaction_id, member_id, account, amount, lot_id) VALUES (?,?,?,?,?,?)"
)
_SQLITE_DRAW = "INSERT INTO lot_draws (shop_id, transaction_id, lot_id, points) VALUES (?,?,?,?)"
_SQLITE_ORDER = (
    "INSERT INTO orders (shop_id, order_id, member_id, placed_at, currency, gross_minor, eligible_minor,"
    " points, source, transaction_id) VALUES (?,?,?,?,?,?,?,?,?,?)"
)
_SQLITE_OUTBOX = (
    "INSERT INTO outbox (shop_id, kind, member_id, dedup_key, payload, created_at, attempts)"
    " VALUES (?,?,?,?,?,?,0)"
)


QUALIFYING_KINDS = frozenset({"earn", "activity"})


def _qualifying(c: Credit) -> int:
    """Points that count toward tiers now: earned or activity points that are not pending."""
    return c.points if not c.pending and c.kind in QUALIFYING_KINDS else 0


def _event(c: Credit, transaction_id: int) -> dict[str, Any]:
    return {
        "transaction_id": transaction_id,
        "member_id": c.member_id,
        "kind": c.kind,
        "points": c.points,
        "pending": c.pending,
        "reason": c.reason,
        "order_id": c.order_id,
    }


def _credit_sqlite(raw: Raw, c: Credit) -> Posted:
    cursor = raw.cursor()
    event_at = _sqlite_stamp(c.event_at)
    qualifying = _qualifying(c)
    cursor.execute(
        _SQLITE_TXN,
        (
            c.shop_id, c.member_id, c.key, c.payload_hash, c.kind, c.points, c.order_id, c.refers_to,
            c.reason, _json(c.cause), _json(c.detail), event_at, _sqlite_stamp(c.recorded_at),
            c.program_version, qualifying, c.tier_spend_minor, c.tier_orders, event_at, c.activity,
        ),
    )
    if cursor.rowcount == 0:
        return _replayed(raw, c)
    txn_id = cursor.lastrowid
    pending, available = (c.points, 0) if c.pending else (0, c.points)
    lifetime = c.points if c.program_account == "issued" else 0
    cursor.execute(_SQLITE_MEMBER, (available, pending, lifetime, event_at, c.member_id, c.shop_id))
    row = cursor.fetchone()
    if row is None:
        raise LookupError(f"member {c.member_id} of shop {c.shop_id!r} does not exist")
    new_available = row[0]
    if c.points:
        remaining = c.points if c.pending else max(0, min(c.points, new_available))
        cursor.execute(
            _SQLITE_LOT,
            (
                c.shop_id, c.member_id, txn_id, c.points, remaining, "pending" if c.pending else "available",
                event_at, _sqlite_stamp(c.available_at), _sqlite_stamp(c.expires_at),
            ),
        )
        lot_id = cursor.lastrowid
        cursor.executemany(
            _SQLITE_ENTRY,
            (
                (c.shop_id, txn_id, c.member_id, "pending" if c.pending else "available", c.points, lot_id),
                (c.shop_id, txn_id, c.member_id, c.program_account, -c.points, lot_id),
            ),
        )
        if remaining < c.points:  # the credit paid down a negative balance
            cursor.execute(_SQLITE_DRAW, (c.shop_id, txn_id, lot_id, c.points - remaining))
        cursor.execute(
            _SQLITE_OUTBOX,
            (c.shop_id, "points_posted", c.member_id, f"txn:{txn_id}", _json(_event(c, txn_id)),
             _sqlite_stamp(c.recorded_at)),
        )
    if c.order is not None:
        o = c.order
        cursor.execute(
            _SQLITE_ORDER,
            (c.shop_id, o.order_id, c.member_id, _sqlite_stamp(o.placed_at), o.currency, o.gross_minor,
             o.eligible_minor, c.points, o.source, txn_id),
        )
    return Posted(txn_id, c.member_id, c.points)


def _in_chunks(cursor: Any, sql: str, head: tuple[Any, ...], values: Sequence[Any]) -> list[Any]:
    rows: list[Any] = []
    for start in range(0, len(values), 500):
        chunk = values[start:start + 500]
        cursor.execute(sql.format(marks=", ".join("?" * len(chunk))), (*head, *chunk))
        rows.extend(cursor.fetchall())
    return rows


def _credit_many_sqlite(raw: Raw, credits: Sequence[Credit]) -> list[Posted]:
    """A batch on SQLite: the caller holds the write lock (``BEGIN IMMEDIATE``), so ids are
    assigned here and each table is written with one ``executemany``. A conflicting key
    anywhere raises, and the caller's transaction rolls the whole batch back."""
    shop_id = credits[0].shop_id
    if any(c.shop_id != shop_id for c in credits):
        return [credit(raw, c) for c in credits]
    cursor = raw.cursor()
    known = {row[0]: row[1:] for row in _in_chunks(
        cursor, "SELECT idempotency_key, id, member_id, points, payload_hash FROM transactions"
        " WHERE shop_id = ? AND idempotency_key IN ({marks})", (shop_id,), [c.key for c in credits])}
    immediate = list({c.member_id for c in credits if not c.pending and c.points})
    balance = {row[0]: row[1] for row in _in_chunks(
        cursor, "SELECT id, available FROM members WHERE shop_id = ? AND id IN ({marks})", (shop_id,), immediate)}
    next_txn = cursor.execute("SELECT coalesce(max(id), 0) + 1 FROM transactions").fetchone()[0]
    next_lot = cursor.execute("SELECT coalesce(max(id), 0) + 1 FROM lots").fetchone()[0]
    txns, lot_rows, entry_rows, draw_rows, order_rows, event_rows = [], [], [], [], [], []
    deltas: dict[int, list[Any]] = {}
    results: list[Posted] = []
    for c in credits:
        if c.key in known:
            txn_id, member_id, points, payload = known[c.key]
            if payload != c.payload_hash:
                raise IdempotencyConflict(
                    f"idempotency key {c.key!r} was already used for a different payload (transaction {txn_id})",
                    field="idempotency_key", value=c.key,
                )
            results.append(Posted(txn_id, member_id, points, replayed=True, payload_hash=payload))
            continue
        txn_id, next_txn = next_txn, next_txn + 1
        known[c.key] = (txn_id, c.member_id, c.points, c.payload_hash)
        event_at = _sqlite_stamp(c.event_at)
        recorded_at = _sqlite_stamp(c.recorded_at)
        txns.append((txn_id, c.shop_id, c.member_id, c.key, c.payload_hash, c.kind, c.points, c.order_id,
                     c.refers_to, c.reason, _json(c.cause), _json(c.detail), event_at, recorded_at,
                     c.program_version, _qualifying(c), c.tier_spend_minor, c.tier_orders, event_at, c.activity))
        delta = deltas.setdefault(c.member_id, [0, 0, 0, event_at])
        delta[1 if c.pending else 0] += c.points
        delta[2] += c.points if c.program_account == "issued" else 0
        delta[3] = max(delta[3], event_at)
        if c.points:
            if c.pending:
                remaining = c.points
            else:
                if c.member_id not in balance:
                    raise LookupError(f"member {c.member_id} of shop {c.shop_id!r} does not exist")
                balance[c.member_id] += c.points
                remaining = max(0, min(c.points, balance[c.member_id]))
            lot_id, next_lot = next_lot, next_lot + 1
            lot_rows.append((lot_id, c.shop_id, c.member_id, txn_id, c.points, remaining,
                             "pending" if c.pending else "available", event_at, _sqlite_stamp(c.available_at),
                             _sqlite_stamp(c.expires_at)))
            entry_rows.append((c.shop_id, txn_id, c.member_id, "pending" if c.pending else "available", c.points,
                               lot_id))
            entry_rows.append((c.shop_id, txn_id, c.member_id, c.program_account, -c.points, lot_id))
            if remaining < c.points:
                draw_rows.append((c.shop_id, txn_id, lot_id, c.points - remaining))
            event_rows.append((c.shop_id, "points_posted", c.member_id, f"txn:{txn_id}",
                               _json(_event(c, txn_id)), recorded_at))
        if c.order is not None:
            o = c.order
            order_rows.append((c.shop_id, o.order_id, c.member_id, _sqlite_stamp(o.placed_at), o.currency,
                               o.gross_minor, o.eligible_minor, c.points, o.source, txn_id))
        results.append(Posted(txn_id, c.member_id, c.points))
    cursor.executemany(_SQLITE_MEMBER_DELTA,
                       [(a, p, l, at, member_id, shop_id) for member_id, (a, p, l, at) in deltas.items()])
    if cursor.rowcount != len(deltas):
        raise LookupError(f"a member of this batch does not exist in shop {shop_id!r}")
    cursor.executemany(_SQLITE_TXN_WITH_ID, txns)
    cursor.executemany(_SQLITE_LOT_WITH_ID, lot_rows)
    cursor.executemany(_SQLITE_ENTRY, entry_rows)
    cursor.executemany(_SQLITE_DRAW, draw_rows)
    cursor.executemany(_SQLITE_ORDER, order_rows)
    cursor.executemany(_SQLITE_OUTBOX, event_rows)
    return results


# One round trip: every statement is a CTE that only acts when the transaction row was new.
_POSTGRES_CREDIT = """
WITH txn AS (
  INSERT INTO transactions (shop_id, member_id, idempotency_key, payload_hash, kind, points, order_id,
    refers_to, reason, cause, detail, event_at, recorded_at, program_version, tier_points,
    tier_spend_minor, tier_orders, tier_at, activity)
  VALUES (%(shop)s, %(member)s, %(key)s, %(hash)s, %(kind)s, %(points)s, %(order_id)s, %(refers_to)s,
    %(reason)s, %(cause)s, %(detail)s, %(event_at)s, %(recorded_at)s, %(version)s, %(qualifying)s,
    %(spend)s, %(orders)s, %(event_at)s, %(activity)s)
  ON CONFLICT (shop_id, idempotency_key) DO NOTHING
  RETURNING id
), m AS (
  UPDATE members SET available = available + %(available)s, pending = pending + %(pending)s,
    lifetime_points = lifetime_points + %(lifetime)s,
    last_activity_at = greatest(last_activity_at, %(event_at)s)
  WHERE id = %(member)s AND shop_id = %(shop)s AND EXISTS (SELECT 1 FROM txn)
  RETURNING available
), lot AS (
  INSERT INTO lots (shop_id, member_id, transaction_id, points, remaining, status, earned_at,
    available_at, expires_at)
  SELECT %(shop)s, %(member)s, txn.id, %(points)s,
    CASE WHEN %(is_pending)s THEN %(points)s ELSE greatest(0, least(%(points)s, m.available)) END,
    %(status)s, %(event_at)s, %(available_at)s, %(expires_at)s
  FROM txn, m WHERE %(points)s > 0
  RETURNING id, points - remaining AS repaid
), ent AS (
  INSERT INTO entries (shop_id, transaction_id, member_id, account, amount, lot_id)
  SELECT %(shop)s, txn.id, %(member)s, v.account, v.amount, lot.id
  FROM txn, lot, (VALUES (%(member_account)s::text, %(points)s::bigint),
    (%(program_account)s::text, -%(points)s::bigint)) AS v(account, amount)
), drw AS (
  INSERT INTO lot_draws (shop_id, transaction_id, lot_id, points)
  SELECT %(shop)s, txn.id, lot.id, lot.repaid FROM txn, lot WHERE lot.repaid > 0
), ord AS (
  INSERT INTO orders (shop_id, order_id, member_id, placed_at, currency, gross_minor, eligible_minor,
    points, source, transaction_id)
  SELECT %(shop)s, %(o_id)s, %(member)s, %(o_placed)s, %(o_currency)s, %(o_gross)s, %(o_eligible)s,
    %(points)s, %(o_source)s, txn.id FROM txn WHERE %(has_order)s
), evt AS (
  INSERT INTO outbox (shop_id, kind, member_id, dedup_key, payload, created_at, attempts)
  SELECT %(shop)s, 'points_posted', %(member)s, 'txn:' || txn.id,
    jsonb_set(%(event)s::jsonb, '{transaction_id}', to_jsonb(txn.id))::json, %(recorded_at)s, 0
  FROM txn WHERE %(points)s > 0
)
SELECT txn.id, m.available FROM txn LEFT JOIN m ON true
"""


def _postgres_params(c: Credit) -> dict[str, Any]:
    o = c.order
    return {
        "shop": c.shop_id, "member": c.member_id, "key": c.key, "hash": c.payload_hash, "kind": c.kind,
        "points": c.points, "order_id": c.order_id, "refers_to": c.refers_to, "reason": c.reason,
        "cause": _json(c.cause), "detail": _json(c.detail), "event_at": c.event_at,
        "recorded_at": c.recorded_at, "version": c.program_version,
        "qualifying": _qualifying(c), "spend": c.tier_spend_minor, "orders": c.tier_orders,
        "activity": c.activity, "available": 0 if c.pending else c.points, "pending": c.points if c.pending else 0,
        "lifetime": c.points if c.program_account == "issued" else 0, "is_pending": c.pending,
        "status": "pending" if c.pending else "available", "available_at": c.available_at,
        "expires_at": c.expires_at, "member_account": "pending" if c.pending else "available",
        "program_account": c.program_account, "has_order": o is not None,
        "o_id": o.order_id if o else None, "o_placed": o.placed_at if o else None,
        "o_currency": o.currency if o else None, "o_gross": o.gross_minor if o else None,
        "o_eligible": o.eligible_minor if o else None, "o_source": o.source if o else None,
        "event": _json(_event(c, 0)),
    }


def _credit_postgres(raw: Raw, c: Credit) -> Posted:
    cursor = raw.cursor()
    cursor.execute(_POSTGRES_CREDIT, _postgres_params(c), prepare=True)
    return _postgres_result(raw, c, cursor.fetchone())


def _postgres_result(raw: Raw, c: Credit, row: Any) -> Posted:
    if row is None:
        return _replayed(raw, c)
    if row[1] is None:
        raise LookupError(f"member {c.member_id} of shop {c.shop_id!r} does not exist")
    return Posted(row[0], c.member_id, c.points)


def _replayed(raw: Raw, c: Credit) -> Posted:
    posted = replay_or_conflict(raw, c.shop_id, c.key, c.payload_hash)
    assert posted is not None, "the insert conflicted, so the key's transaction exists"
    return posted


# ---------------------------------------------------------------------------------------------
# Debits and moves under the member's lock
# ---------------------------------------------------------------------------------------------


MEMBER_COLUMNS = (
    "id", "shop_id", "customer_id", "email", "tier", "enrolled_at", "available", "pending", "lifetime_points",
    "birthday", "name", "last_activity_at", "tier_since",
)


class MemberRow(NamedTuple):
    """A member row as read by the driver (the names match the members table's columns)."""

    id: int
    shop_id: str
    customer_id: str | None
    email: str | None
    tier: str | None
    enrolled_at: Any
    available: int
    pending: int
    lifetime_points: int
    birthday: Any
    name: str | None
    last_activity_at: Any
    tier_since: Any


def lock_member(conn: Connection | Raw, shop_id: str, member_id: int) -> MemberRow | None:
    """The member row, locked for the rest of the transaction (SQLite: the write lock is held
    since BEGIN IMMEDIATE)."""
    raw = Raw.of(conn)
    cursor = raw.cursor()
    cursor.execute(
        f"SELECT {', '.join(MEMBER_COLUMNS)} FROM members WHERE id = {raw.mark} AND shop_id = {raw.mark}"
        + (" FOR UPDATE" if raw.postgres else ""),
        (member_id, shop_id),
    )
    row = cursor.fetchone()
    return None if row is None else MemberRow(*row)


class LotRow(NamedTuple):
    id: int
    remaining: int
    expires_at: Any
    transaction_id: int


def open_lots(conn: Connection | Raw, shop_id: str, member_id: int, status: str) -> list[LotRow]:
    """Lots with points left, in draw order: soonest expiry first, never-expiring last."""
    raw = Raw.of(conn)
    cursor = raw.cursor()
    cursor.execute(
        "SELECT id, remaining, expires_at, transaction_id FROM lots"
        f" WHERE shop_id = {raw.mark} AND member_id = {raw.mark} AND status = {raw.mark} AND remaining > 0"
        " ORDER BY expires_at IS NULL, expires_at, id",
        (shop_id, member_id, status),
    )
    return [LotRow(*row) for row in cursor.fetchall()]


def plan_draws(candidates: Iterable[Any], points: int, first: int | None = None) -> tuple[list[Draw], int]:
    """Take ``points`` from lots in order (lot ``first`` before the rest); returns the draws and
    what could not be covered."""
    ordered = sorted(candidates, key=lambda lot: lot.id != first) if first is not None else list(candidates)
    draws: list[Draw] = []
    left = points
    for lot in ordered:
        if left <= 0:
            break
        take = min(lot.remaining, left)
        if take > 0:
            draws.append(Draw(lot.id, take))
            left -= take
    return draws, left


@frozen
class Movement:
    """A transaction that moves points between accounts under the member's lock."""

    shop_id: str
    member_id: int
    key: str
    payload_hash: str
    kind: str
    reason: str
    event_at: datetime
    recorded_at: datetime
    program_version: str
    legs: tuple[tuple[str, int], ...]
    """(account, amount) pairs that sum to zero."""
    draws: tuple[Draw, ...] = ()
    points: int = 0
    cause: Mapping[str, Any] = field(factory=dict)
    detail: Mapping[str, Any] = field(factory=dict)
    order_id: str | None = None
    refers_to: int | None = None
    tier_points: int = 0
    tier_spend_minor: int = 0
    tier_orders: int = 0
    release_lot: int | None = None
    release_remaining: int | None = None
    tier_at: datetime | None = None
    """When the tier contributions count (default: ``event_at``)."""
    lifetime_delta: int = 0
    """Change to the member's net lifetime points (clawbacks lower it)."""
    event_kind: str | None = "points_posted"


def move(conn: Connection | Raw, m: Movement) -> Posted:
    """Post a movement whose balances the caller checked under the member's lock."""
    if sum(amount for _, amount in m.legs) != 0:
        raise ValueError(f"unbalanced transaction {m.key}: {m.legs}")
    raw = Raw.of(conn)
    mark = raw.mark
    cursor = raw.cursor()
    try:
        cursor.execute(
            f"INSERT INTO transactions ({_TXN_COLUMNS}) VALUES ({raw.marks(19)}) RETURNING id",
            (
                m.shop_id, m.member_id, m.key, m.payload_hash, m.kind, m.points, m.order_id, m.refers_to, m.reason,
                _json(m.cause), _json(m.detail), raw.stamp(m.event_at), raw.stamp(m.recorded_at),
                m.program_version, m.tier_points, m.tier_spend_minor, m.tier_orders,
                raw.stamp(m.tier_at or m.event_at), None,
            ),
        )
    except (sqlite3.IntegrityError, psycopg.IntegrityError):
        # Another process posted the same key between our check and insert.
        raise IdempotencyConflict(
            f"idempotency key {m.key!r} was posted concurrently", field="idempotency_key", value=m.key
        ) from None
    txn_id = cursor.fetchone()[0]
    legs = [(m.shop_id, txn_id, m.member_id, account, amount, None) for account, amount in m.legs if amount]
    if legs:
        cursor.executemany(_ENTRY.format(marks=raw.marks(6)), legs)
    deltas = dict(m.legs)
    available, pending = deltas.get("available", 0), deltas.get("pending", 0)
    if available or pending or m.lifetime_delta:
        cursor.execute(
            f"UPDATE members SET available = available + {mark}, pending = pending + {mark},"
            f" lifetime_points = lifetime_points + {mark} WHERE id = {mark} AND shop_id = {mark}",
            (available, pending, m.lifetime_delta, m.member_id, m.shop_id),
        )
    if m.draws:
        cursor.executemany(f"UPDATE lots SET remaining = remaining - {mark} WHERE id = {mark}",
                           [(d.points, d.lot_id) for d in m.draws])
        cursor.executemany(f"INSERT INTO lot_draws (shop_id, transaction_id, lot_id, points) VALUES ({raw.marks(4)})",
                           [(m.shop_id, txn_id, d.lot_id, d.points) for d in m.draws])
    if m.release_lot is not None:
        cursor.execute(f"UPDATE lots SET status = 'available', remaining = {mark} WHERE id = {mark}",
                       (m.release_remaining, m.release_lot))
    if m.event_kind and legs:
        cursor.execute(
            f"INSERT INTO outbox (shop_id, kind, member_id, dedup_key, payload, created_at, attempts)"
            f" VALUES ({raw.marks(6)}, 0)",
            (m.shop_id, m.event_kind, m.member_id, f"txn:{txn_id}", _json({
                "transaction_id": txn_id, "member_id": m.member_id, "kind": m.kind, "points": m.points,
                "reason": m.reason, "order_id": m.order_id,
            }), raw.stamp(m.recorded_at)),
        )
    return Posted(txn_id, m.member_id, m.points)


_ENTRY = "INSERT INTO entries (shop_id, transaction_id, member_id, account, amount, lot_id) VALUES ({marks})"


def emit(
    conn: Connection, shop_id: str, kind: str, member_id: int | None, dedup_key: str, payload: dict[str, Any],
    at: datetime,
) -> None:
    """Write a domain event to the outbox in the caller's transaction, once per dedup key (a
    second writer of the same key, even concurrently, changes nothing)."""
    statement = _dialect_insert(conn, outbox).values(
        shop_id=shop_id, kind=kind, member_id=member_id, dedup_key=dedup_key,
        payload={"id": f"{shop_id}:{dedup_key}", **payload}, created_at=utc(at), attempts=0,
    ).on_conflict_do_nothing(index_elements=["shop_id", "dedup_key"])
    conn.execute(statement)


def _dialect_insert(conn: Connection, table: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql_insert(table)
    return sqlite_insert(table)


def require_available(member: Any, points: int, what: str) -> None:
    if member.available < points:
        raise InsufficientPoints(
            f"{what} needs {points} points but member {member.id} has {member.available} available",
            field="points",
            value=points,
        )


def balance_totals(conn: Connection, shop_id: str) -> dict[str, int]:
    """Sum of entries per account for a shop (program totals are always derived, never stored)."""
    rows = conn.execute(
        select(entries.c.account, func.coalesce(func.sum(entries.c.amount), 0))
        .where(entries.c.shop_id == shop_id)
        .group_by(entries.c.account)
    )
    return {account: int(total) for account, total in rows}


def lots_expiring(conn: Connection, shop_id: str, until: datetime) -> list[Any]:
    return list(
        conn.execute(
            select(lots.c.id, lots.c.member_id, lots.c.remaining, lots.c.expires_at)
            .where(and_(lots.c.shop_id == shop_id, lots.c.status == "available", lots.c.remaining > 0,
                        lots.c.expires_at.is_not(None), lots.c.expires_at <= utc(until)))
            .order_by(lots.c.expires_at, lots.c.id)
        )
    )
