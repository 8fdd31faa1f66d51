"""The points ledger: double-entry postings, lots, idempotency and balances.

Every function here runs inside one write transaction the caller opened (``Books.write()``)
and either posts everything it was asked to or raises before anything is committed.

Accounts: member ``available`` and ``pending``; program ``issued``, ``redeemed``, ``expired``,
``clawed_back`` and ``adjusted``. Each transaction's entries sum to zero. Member balances and
lot remainders are materialized in the same transaction as the entries that explain them.

Credits (earning) are the hot path and live in :mod:`loyalty_sdk.core.credits`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
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
from loyalty_sdk.core.storage import LOT_AVAILABLE, entries, lots, outbox


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


def to_json(value: Any) -> str:
    # orjson: the ledger writes three JSON documents per posting; the stdlib encoder cost
    # more than the database did.
    return orjson.dumps(value).decode()


@lru_cache(maxsize=8192)
def sqlite_stamp(moment: datetime | None) -> str | None:
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
        return moment if self.postgres else sqlite_stamp(moment)

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


TXN_COLUMNS = (
    "shop_id, member_id, idempotency_key, payload_hash, kind, points, order_id, refers_to, reason, cause, detail,"
    " event_at, recorded_at, program_version, tier_points, tier_spend_minor, tier_orders, tier_at, activity"
)


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
            f"INSERT INTO transactions ({TXN_COLUMNS}) VALUES ({raw.marks(19)}) RETURNING id",
            (
                m.shop_id, m.member_id, m.key, m.payload_hash, m.kind, m.points, m.order_id, m.refers_to, m.reason,
                to_json(m.cause), to_json(m.detail), raw.stamp(m.event_at), raw.stamp(m.recorded_at),
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
            (m.shop_id, m.event_kind, m.member_id, f"txn:{txn_id}", to_json({
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
    statement = dialect_insert(conn, outbox).values(
        shop_id=shop_id, kind=kind, member_id=member_id, dedup_key=dedup_key,
        payload={"id": f"{shop_id}:{dedup_key}", **payload}, created_at=utc(at), attempts=0,
    ).on_conflict_do_nothing(index_elements=["shop_id", "dedup_key"])
    conn.execute(statement)


def dialect_insert(conn: Connection, table: Any) -> Any:
    """An INSERT with this dialect's ON CONFLICT support."""
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
            .where(and_(lots.c.shop_id == shop_id, LOT_AVAILABLE, lots.c.remaining > 0,
                        lots.c.expires_at.is_not(None), lots.c.expires_at <= utc(until)))
            .order_by(lots.c.expires_at, lots.c.id)
        )
    )
