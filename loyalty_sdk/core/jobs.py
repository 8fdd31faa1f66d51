"""The scheduled jobs: release pending points, expire lots, remind before expiry, re-tier,
and deliver outbox events to the notification hooks.

Each job is idempotent (keys: lot id + release / expire, reminder per lot and horizon), so a
job run twice, or by two processes, changes the books once. ``as_of`` lets a merchant replay
time (the demo runs a year of jobs in a few seconds).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from attrs import asdict, frozen
from sqlalchemy import and_, select, update
from sqlalchemy.engine import Connection

from loyalty_sdk.core import ledger, members, tiering
from loyalty_sdk.core.books import Books
from loyalty_sdk.core.engine import payload_hash
from loyalty_sdk.core.storage import lots, outbox, transactions
from loyalty_sdk.core.storage import members as members_table


@frozen
class JobReport:
    released: int = 0
    released_points: int = 0
    expired: int = 0
    expired_points: int = 0
    reminders: int = 0
    tier_changes: int = 0
    events_delivered: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def release_pending(books: Books, as_of: datetime) -> tuple[int, int, set[int]]:
    """Move pending lots whose return window has passed to available, one transaction each."""
    shop_id = books.shop_id
    with books.read() as conn:
        due = list(conn.execute(
            select(lots.c.id, lots.c.member_id, lots.c.available_at, lots.c.transaction_id)
            .where(lots.c.shop_id == shop_id, lots.c.status == "pending", lots.c.available_at <= ledger.utc(as_of))
            .order_by(lots.c.available_at, lots.c.id)
        ))
    count = points = 0
    touched: set[int] = set()
    for lot in due:
        with books.write() as conn:
            posted = _release(books, conn, lot)
        if posted:
            count += 1
            points += posted
            touched.add(lot.member_id)
    return count, points, touched


def _release(books: Books, conn: Connection, lot: Any) -> int:
    member = ledger.lock_member(conn, books.shop_id, lot.member_id)
    current = conn.execute(select(lots.c.status, lots.c.remaining).where(lots.c.id == lot.id)).first()
    if current.status != "pending":
        return 0  # another process released it first
    amount = current.remaining
    if amount == 0:
        # Cancelled or refunded in full during the return window: nothing to release, and no
        # "0 points released" line in the member's history.
        conn.execute(update(lots).where(lots.c.id == lot.id).values(status="available"))
        return 0
    key = f"lot:{lot.id}:release"
    order_id = conn.execute(select(transactions.c.order_id).where(transactions.c.id == lot.transaction_id)).scalar()
    # Released points first pay down a negative balance left by a clawback.
    repaid = min(amount, max(0, -member.available))
    ledger.move(conn, ledger.Movement(
        shop_id=books.shop_id, member_id=lot.member_id, key=key, payload_hash=payload_hash(key),
        kind="release", reason=f"return window passed{f' for order {order_id}' if order_id else ''}",
        event_at=ledger.stored(lot.available_at), recorded_at=books.now(), program_version=books.program.version,
        legs=(("pending", -amount), ("available", amount)), points=amount, order_id=order_id,
        refers_to=lot.transaction_id, tier_points=amount, release_lot=lot.id, release_remaining=amount - repaid,
        draws=(ledger.Draw(lot.id, repaid),) if repaid else (), detail={"lot_id": lot.id, "repaid": repaid},
        cause={"job": "release"},
    ))
    return amount


def expire(books: Books, as_of: datetime) -> tuple[int, int]:
    """Expire what the program's policy says has expired at ``as_of``."""
    policy = books.program.expiry
    shop_id = books.shop_id
    with books.read() as conn:
        if policy.mode == "lot":
            due = ledger.lots_expiring(conn, shop_id, as_of)
        elif policy.mode == "inactivity":
            cutoff = ledger.utc(as_of - timedelta(days=policy.days))
            due = list(conn.execute(
                select(lots.c.id, lots.c.member_id, lots.c.remaining, lots.c.expires_at)
                .join(members_table, members_table.c.id == lots.c.member_id)
                .where(lots.c.shop_id == shop_id, lots.c.status == "available", lots.c.remaining > 0,
                       members_table.c.last_activity_at <= cutoff)
                .order_by(lots.c.member_id, lots.c.id)
            ))
        else:
            return 0, 0
    count = points = 0
    for lot in due:
        with books.write() as conn:
            taken = _expire_lot(books, conn, lot, as_of)
        if taken:
            count += 1
            points += taken
    return count, points


def _expire_lot(books: Books, conn: Connection, lot: Any, as_of: datetime) -> int:
    key = f"lot:{lot.id}:expire"
    if ledger.existing(conn, books.shop_id, key) is not None:
        return 0
    member = ledger.lock_member(conn, books.shop_id, lot.member_id)
    remaining = conn.execute(select(lots.c.remaining).where(lots.c.id == lot.id)).scalar_one()
    # Never expire more than the member holds (a negative balance already owes these points).
    amount = min(remaining, max(0, member.available))
    if amount <= 0:
        return 0
    at = ledger.stored(lot.expires_at) or as_of
    ledger.move(conn, ledger.Movement(
        shop_id=books.shop_id, member_id=lot.member_id, key=key, payload_hash=payload_hash(key), kind="expire",
        reason=f"points expired ({books.program.expiry.mode} policy)", event_at=min(at, as_of),
        recorded_at=books.now(), program_version=books.program.version,
        legs=(("available", -amount), ("expired", amount)), draws=(ledger.Draw(lot.id, amount),), points=-amount,
        detail={"lot_id": lot.id}, cause={"job": "expire", "policy": books.program.expiry.mode},
    ))
    return amount


def remind(books: Books, as_of: datetime) -> int:
    """Queue ``points_expiring`` events for lots that expire within each reminder horizon."""
    policy = books.program.expiry
    if policy.mode != "lot" or not policy.reminder_days:
        return 0
    sent = 0
    with books.write() as conn:
        for days in sorted(policy.reminder_days, reverse=True):
            for lot in ledger.lots_expiring(conn, books.shop_id, as_of + timedelta(days=days)):
                expires = ledger.stored(lot.expires_at)
                if expires <= as_of:
                    continue
                dedup = f"lot:{lot.id}:remind:{days}"
                before = conn.execute(select(outbox.c.id).where(outbox.c.shop_id == books.shop_id,
                                                                outbox.c.dedup_key == dedup)).first()
                if before is None:
                    ledger.emit(conn, books.shop_id, "points_expiring", lot.member_id, dedup, {
                        "member_id": lot.member_id, "points": lot.remaining, "expires_at": expires.isoformat(),
                        "days_left": (expires - as_of).days, "lot_id": lot.id,
                    }, books.now())
                    sent += 1
    return sent


def retier(books: Books, as_of: datetime) -> int:
    """Re-resolve tiers at ``as_of`` (downgrades happen here, at the end of a period)."""
    if not books.program.tiers.levels:
        return 0
    changed = 0
    with books.write() as conn:
        stats = tiering.stats_for_shop(conn, books.program, books.shop_id, as_of)
        query = select(members_table).where(members_table.c.shop_id == books.shop_id)
        for row in conn.execute(query).all():
            member = members.to_member(row)
            member_stats = stats.get(row.id) or tiering.TierStats(as_of=as_of)
            if tiering.apply(conn, books.host, books.program, member, member_stats, books.now()):
                changed += 1
    return changed


def deliver_events(books: Books, limit: int = 1000) -> int:
    """Deliver undelivered outbox events to the notification hooks, oldest first. At least
    once: an event whose hook raised stays undelivered and is retried next run."""
    delivered = 0
    with books.read() as conn:
        batch = list(conn.execute(
            select(outbox).where(outbox.c.shop_id == books.shop_id, outbox.c.delivered_at.is_(None))
            .order_by(outbox.c.id).limit(limit)
        ))
    for event in batch:
        # Every event names itself and its shop, stably across redeliveries (credits posted on
        # the ledger's fast path store a payload without them).
        payload = {"id": f"{event.shop_id}:{event.dedup_key}", "shop_id": event.shop_id, **dict(event.payload)}
        try:
            books.host.notify(event.kind, payload, books.program)
        except Exception:  # noqa: BLE001 - a failing receiver must not stop the others
            with books.write() as conn:
                conn.execute(update(outbox).where(outbox.c.id == event.id).values(attempts=outbox.c.attempts + 1))
            continue
        with books.write() as conn:
            conn.execute(update(outbox).where(and_(outbox.c.id == event.id, outbox.c.delivered_at.is_(None)))
                         .values(delivered_at=ledger.utc(books.now()), attempts=outbox.c.attempts + 1))
        delivered += 1
    return delivered


def run_all(books: Books, as_of: datetime) -> JobReport:
    released, released_points, _ = release_pending(books, as_of)
    expired, expired_points = expire(books, as_of)
    reminders = remind(books, as_of)
    changes = retier(books, as_of)
    delivered = deliver_events(books)
    return JobReport(released, released_points, expired, expired_points, reminders, changes, delivered)


__all__ = ["JobReport", "deliver_events", "expire", "release_pending", "remind", "retier", "run_all"]
