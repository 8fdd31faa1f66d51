"""Credits, the ledger's hot path: every earned point enters the books here.

One pre-written statement sequence per dialect, run on the driver connection: on PostgreSQL
a single data-modifying CTE (one round trip, atomic on its own), on SQLite a handful of
statements inside the caller's ``BEGIN IMMEDIATE``; batches are pipelined (PostgreSQL) or
written with one ``executemany`` per table (SQLite). A key seen before with the same payload
is a replay that changes nothing; with another payload, an IdempotencyConflict.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from psycopg import RawCursor
from sqlalchemy.engine import Connection

from loyalty_sdk.core.errors import IdempotencyConflict
from loyalty_sdk.core.ledger import (
    TXN_COLUMNS,
    Credit,
    Posted,
    Raw,
    replay_or_conflict,
    sqlite_stamp,
    to_json,
)


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
            cursor = RawCursor(raw.connection)
            cursor.execute(_POSTGRES_NUMBERED, _postgres_args(c), prepare=True)
            cursors.append(cursor)
    return [_postgres_result(raw, c, cursor.fetchone()) for c, cursor in zip(credits, cursors, strict=True)]


_LOT_COLUMNS = "shop_id, member_id, transaction_id, points, remaining, status, earned_at, available_at, expires_at"
_SQLITE_TXN = (
    f"INSERT INTO transactions ({TXN_COLUMNS}) VALUES ({', '.join('?' * 19)})"
    " ON CONFLICT (shop_id, idempotency_key) DO NOTHING"
)
# Batches assign ids themselves (they hold the write lock), so keys were checked beforehand.
_SQLITE_TXN_WITH_ID = f"INSERT INTO transactions (id, {TXN_COLUMNS}) VALUES ({', '.join('?' * 20)})"
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
    event_at = sqlite_stamp(c.event_at)
    qualifying = _qualifying(c)
    cursor.execute(
        _SQLITE_TXN,
        (
            c.shop_id, c.member_id, c.key, c.payload_hash, c.kind, c.points, c.order_id, c.refers_to,
            c.reason, to_json(c.cause), to_json(c.detail), event_at, sqlite_stamp(c.recorded_at),
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
                event_at, sqlite_stamp(c.available_at), sqlite_stamp(c.expires_at),
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
            (c.shop_id, "points_posted", c.member_id, f"txn:{txn_id}", to_json(_event(c, txn_id)),
             sqlite_stamp(c.recorded_at)),
        )
    if c.order is not None:
        o = c.order
        cursor.execute(
            _SQLITE_ORDER,
            (c.shop_id, o.order_id, c.member_id, sqlite_stamp(o.placed_at), o.currency, o.gross_minor,
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
        event_at = sqlite_stamp(c.event_at)
        recorded_at = sqlite_stamp(c.recorded_at)
        txns.append((txn_id, c.shop_id, c.member_id, c.key, c.payload_hash, c.kind, c.points, c.order_id,
                     c.refers_to, c.reason, to_json(c.cause), to_json(c.detail), event_at, recorded_at,
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
                             "pending" if c.pending else "available", event_at, sqlite_stamp(c.available_at),
                             sqlite_stamp(c.expires_at)))
            entry_rows.append((c.shop_id, txn_id, c.member_id, "pending" if c.pending else "available", c.points,
                               lot_id))
            entry_rows.append((c.shop_id, txn_id, c.member_id, c.program_account, -c.points, lot_id))
            if remaining < c.points:
                draw_rows.append((c.shop_id, txn_id, lot_id, c.points - remaining))
            event_rows.append((c.shop_id, "points_posted", c.member_id, f"txn:{txn_id}",
                               to_json(_event(c, txn_id)), recorded_at))
        if c.order is not None:
            o = c.order
            order_rows.append((c.shop_id, o.order_id, c.member_id, sqlite_stamp(o.placed_at), o.currency,
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
        "cause": to_json(c.cause), "detail": to_json(c.detail), "event_at": c.event_at,
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
        "event": to_json(_event(c, 0)),
    }


def _numbered(query: str) -> tuple[str, tuple[str, ...]]:
    """``%(name)s`` placeholders as PostgreSQL's own ``$n``, one number per name, so the driver
    sends the statement as it is (no per-call query rewriting) with arguments in that order."""
    names: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        return f"${names.setdefault(match.group(1), len(names) + 1)}"

    return re.sub(r"%\((\w+)\)s", number, query), tuple(names)


_POSTGRES_NUMBERED, _POSTGRES_NAMES = _numbered(_POSTGRES_CREDIT)


def _postgres_args(c: Credit) -> tuple[Any, ...]:
    params = _postgres_params(c)
    return tuple([params[name] for name in _POSTGRES_NAMES])


def _credit_postgres(raw: Raw, c: Credit) -> Posted:
    cursor = RawCursor(raw.connection)
    cursor.execute(_POSTGRES_NUMBERED, _postgres_args(c), prepare=True)
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
