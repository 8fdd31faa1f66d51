"""Database leases: at most one process holds a named lease until it expires.

The scheduled jobs run under one, so however many ``loyalty serve`` and ``loyalty worker``
processes share the database, one of them runs each job at a time. A holder renews its lease
by acquiring it again before it runs out; a holder that dies simply lets it lapse.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from loyalty_sdk.core.ledger import utc
from loyalty_sdk.core.storage import leases


def acquire(engine: Engine, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease ``name`` for ``holder`` until ``now + ttl``; False when another
    holder's lease is still running."""
    now = utc(now)
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(leases).values(name=name, holder=holder, expires_at=now + ttl)
    # One statement, atomic on both engines: the row is taken over only when free or ours.
    statement = statement.on_conflict_do_update(
        index_elements=[leases.c.name],
        set_={"holder": holder, "expires_at": now + ttl},
        where=(leases.c.holder == holder) | (leases.c.expires_at <= now),
    ).returning(leases.c.holder)
    with engine.execution_options(loyalty_write=True).begin() as conn:
        row = conn.execute(statement).first()
    return row is not None and row.holder == holder


def release(engine: Engine, name: str, holder: str) -> None:
    """Give the lease up early (a clean shutdown), if this holder still has it."""
    with engine.execution_options(loyalty_write=True).begin() as conn:
        conn.execute(delete(leases).where(leases.c.name == name, leases.c.holder == holder))


__all__ = ["acquire", "release"]
