"""When to try again: exponential backoff with full jitter, for everything that retries
(webhook deliveries in, notification hooks, outbound webhooks and member messages out), and
claiming the queued rows that are due.

Full jitter (a uniform wait between zero and the exponential ceiling) keeps many failed
deliveries from retrying in lockstep when the thing they wait for comes back.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.engine import Connection, Engine


def backoff(attempts: int, base: float, cap: float, rng: random.Random | None = None) -> timedelta:
    """Somewhere in [0, min(cap, base * 2**(attempts-1))] seconds, after ``attempts`` tries."""
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    return timedelta(seconds=(rng or random).uniform(0, ceiling))


def claim_due(engine: Engine, table: Table, now: datetime, lease: timedelta, limit: int,
              returning: Sequence[Any], where: Sequence[Any] = ()) -> list[Any]:
    """Claim up to ``limit`` rows of a retry queue (``status``, ``attempts``,
    ``next_attempt_at``, ``claimed_until``) that are pending, due at ``now`` and not held by a
    live lease, oldest first: each is held until ``now + lease`` and counts one more attempt.
    One statement; on PostgreSQL rows another process is claiming are skipped, not waited for.
    Returns the ``returning`` columns of the rows claimed, by id."""
    c = table.c
    due = (select(c.id).where(c.status == "pending", c.next_attempt_at <= now,
                              or_(c.claimed_until.is_(None), c.claimed_until < now), *where)
           .order_by(c.id).limit(limit))
    if engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    with engine.execution_options(loyalty_write=True).begin() as conn:
        claimed = conn.execute(update(table).where(c.id.in_(due.scalar_subquery()))
                               .values(claimed_until=now + lease, attempts=c.attempts + 1)
                               .returning(c.id, *returning)).all()
    return sorted(claimed, key=lambda row: row.id)


def status_counts(conn: Connection, table: Table, statuses: Sequence[str], *,
                  shop_id: str | None = None) -> dict[str, int]:
    """Rows of a retry queue per status (every status named, zero included), of every shop or of one."""
    query = select(table.c.status, func.count()).group_by(table.c.status)
    if shop_id is not None:
        query = query.where(table.c.shop_id == shop_id)
    return {status: 0 for status in statuses} | {status: n for status, n in conn.execute(query).all()}


def revive(engine: Engine, table: Table, ids: Sequence[int] | None, now: datetime, *, shop_id: str | None = None,
           where: Sequence[Any] = (), **reset: Any) -> int:
    """Put a retry queue's dead rows (all of them, or those named; of one shop or every shop;
    those ``where`` selects) back in the queue, due at once with their attempts reset, and
    ``reset`` the table's own columns of an attempt. Returns how many."""
    c = table.c
    condition = and_(c.status == "dead", *([c.shop_id == shop_id] if shop_id else []), *where)
    if ids is not None:
        condition = and_(condition, c.id.in_(list(ids)))
    with engine.execution_options(loyalty_write=True).begin() as conn:
        return conn.execute(update(table).where(condition).values(
            status="pending", attempts=0, next_attempt_at=now, claimed_until=None, **reset)).rowcount


__all__ = ["backoff", "claim_due", "revive", "status_counts"]
