"""The member message backlog as an operator sees it: what waits, what was sent or skipped, and
the dead messages (given up after ``delivery.MAX_ATTEMPTS`` tries) put back once the channel
works again (``loyalty messages list`` and ``loyalty messages retry``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.ledger import stored, utc
from loyalty_sdk.core.retry import revive, status_counts
from loyalty_sdk.core.storage import member_messages

STATUSES = ("pending", "sent", "skipped", "dead")


def listing(conn: Connection, *, status: str | None = None, shop_id: str | None = None,
            limit: int = 50) -> list[dict[str, Any]]:
    """The newest messages with their status, attempts and last error."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}, got {status!r}", field="status",
                           value=status)
    m = member_messages.c
    query = select(m.id, m.shop_id, m.channel, m.kind, m.member_id, m.message_key, m.status, m.attempts,
                   m.next_attempt_at, m.sent_at, m.last_error)
    if status is not None:
        query = query.where(m.status == status)
    if shop_id is not None:
        query = query.where(m.shop_id == shop_id)
    rows = conn.execute(query.order_by(m.id.desc()).limit(limit)).all()
    return [_public(row._mapping) for row in rows]


def counts(conn: Connection, *, shop_id: str | None = None) -> dict[str, int]:
    """Messages per status, of every shop or of one."""
    return status_counts(conn, member_messages, STATUSES, shop_id=shop_id)


def retry(engine: Engine, ids: Sequence[int] | None, now: datetime, *, shop_id: str | None = None) -> int:
    """Put dead messages (all of them, or those named) back in the queue, due at once."""
    return revive(engine, member_messages, ids, utc(now), shop_id=shop_id)


def _public(row: Any) -> dict[str, Any]:
    result = dict(row)
    for key in ("next_attempt_at", "sent_at"):
        moment = stored(result[key])
        result[key] = None if moment is None else moment.isoformat()
    return result


__all__ = ["STATUSES", "counts", "listing", "retry"]
