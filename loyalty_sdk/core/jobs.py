"""The scheduled jobs: release pending points, expire lots, remind before expiry, re-tier,
and deliver outbox events to the notification hooks.

Each job is idempotent (keys: lot id + release / expire, reminder per lot and horizon), so a
job run twice, or by two processes, changes the books once. ``as_of`` lets a merchant replay
time (the demo runs a year of jobs in a few seconds).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from attrs import asdict, frozen
from sqlalchemy import or_, select, update
from sqlalchemy.engine import Connection

from loyalty_sdk.core import ledger, members, referrals, tiering
from loyalty_sdk.core.books import Books
from loyalty_sdk.core.engine import payload_hash
from loyalty_sdk.core.retry import backoff
from loyalty_sdk.core.storage import LOT_PENDING, ORDER_HELD, job_runs, lots, orders, outbox, transactions
from loyalty_sdk.core.storage import members as members_table

CHUNK = 200  # lots per write transaction: short locks, few commits


@frozen
class JobReport:
    released: int = 0
    released_points: int = 0
    expired: int = 0
    expired_points: int = 0
    reminders: int = 0
    tier_changes: int = 0
    events_delivered: int = 0
    referrals_rewarded: int = 0
    referrals_voided: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def release_pending(books: Books, as_of: datetime) -> tuple[int, int, set[int]]:
    """Move pending lots whose return window has passed to available, one transaction each
    (but not those of an order on hold: see ``holds``)."""
    shop_id = books.shop_id
    with books.read() as conn:
        due = list(conn.execute(
            select(lots.c.id, lots.c.member_id, lots.c.available_at, lots.c.transaction_id)
            .where(lots.c.shop_id == shop_id, LOT_PENDING, lots.c.available_at <= ledger.utc(as_of),
                   # The lots of held orders (a payment disputed) wait for the hold to end.
                   lots.c.transaction_id.not_in(
                       select(orders.c.transaction_id).where(orders.c.shop_id == shop_id, ORDER_HELD)))
            .order_by(lots.c.available_at, lots.c.id)
        ))
    count = points = 0
    touched: set[int] = set()
    for chunk in _chunks(due):
        with books.write() as conn:
            for lot in chunk:
                posted = _release(books, conn, lot)
                if posted:
                    count += 1
                    points += posted
                    touched.add(lot.member_id)
    return count, points, touched


def _chunks(rows: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


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
    for chunk in _chunks(due):
        with books.write() as conn:
            for lot in chunk:
                taken = _expire_lot(books, conn, lot, as_of)
                if taken:
                    count += 1
                    points += taken
    return count, points


def _expire_lot(books: Books, conn: Connection, lot: Any, as_of: datetime) -> int:
    key = f"lot:{lot.id}:expire"
    # Lock first: another worker may be expiring the same lot right now.
    member = ledger.lock_member(conn, books.shop_id, lot.member_id)
    if ledger.existing(conn, books.shop_id, key) is not None:
        return 0
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
    with books.write() as conn:
        wanted = {}
        reminded: set[int] = set()
        # Nearest horizon first, one reminder per lot: a lot first seen 5 days before it expires
        # gets the "7 days" reminder only, not a stale "30 days" one in the same breath.
        for days in sorted(policy.reminder_days):
            for lot in ledger.lots_expiring(conn, books.shop_id, as_of + timedelta(days=days)):
                expires = ledger.stored(lot.expires_at)
                if expires > as_of and lot.id not in reminded:
                    reminded.add(lot.id)
                    wanted[f"lot:{lot.id}:remind:{days}"] = (lot, expires)
        sent = set()
        for keys in _chunks(list(wanted), 500):
            sent.update(conn.execute(select(outbox.c.dedup_key).where(
                outbox.c.shop_id == books.shop_id, outbox.c.dedup_key.in_(keys))).scalars())
        new = [key for key in wanted if key not in sent]
        # One moment for the whole run: a member's reminders of one run are one batch (one message).
        recorded = books.now()
        for key in new:
            lot, expires = wanted[key]
            ledger.emit(conn, books.shop_id, "points_expiring", lot.member_id, key, {
                "member_id": lot.member_id, "points": lot.remaining, "expires_at": expires.isoformat(),
                "days_left": (expires - as_of).days, "lot_id": lot.id,
            }, recorded)
    return len(new)


def retier(books: Books, as_of: datetime, only: set[int] | None = None) -> int:
    """Re-resolve tiers at ``as_of`` (downgrades happen here, at the end of a period); ``only``
    limits it to those members."""
    if not books.program.tiers.levels or only == set():
        return 0
    changed = 0
    with books.read() as conn:
        stats = tiering.stats_for_shop(conn, books.program, books.shop_id, as_of, only)
        query = select(members_table).where(members_table.c.shop_id == books.shop_id)
        if only is not None and len(only) <= 500:
            query = query.where(members_table.c.id.in_(sorted(only)))
        rows = [row for row in conn.execute(query) if only is None or row.id in only]
    for row in rows:
        member_stats = stats.get(row.id) or tiering.TierStats(as_of=as_of)
        decision = books.host.resolve_tier(members.to_member(row), member_stats, books.program)
        if decision is None or decision.tier == row.tier:
            continue
        # A change is applied under the member's lock on fresh figures, so two workers (or a
        # concurrent clawback) never record it twice or from stale stats.
        with books.write() as conn:
            locked = ledger.lock_member(conn, books.shop_id, row.id)
            fresh = tiering.stats_for(conn, books.program, row.id, books.shop_id, as_of)
            if tiering.apply(conn, books.host, books.program, members.to_member(locked), fresh, books.now()):
                changed += 1
    return changed


def lapse_candidates(books: Books, since: datetime | None, as_of: datetime) -> set[int] | None:
    """Members whose tier may differ at ``as_of`` from what the run at ``since`` left, or None
    for "everyone" (no earlier run)."""
    if since is None:
        return None
    # Members whose qualifying events are dated since the last run are looked at again too: a
    # posting re-tiers its member at once, but not if the process died between the two.
    t = transactions.c
    with books.read() as conn:
        recent = set(conn.execute(select(t.member_id).distinct().where(
            t.shop_id == books.shop_id, t.tier_at > ledger.utc(since), t.tier_at <= ledger.utc(as_of),
            (t.tier_points != 0) | (t.tier_spend_minor != 0) | (t.tier_orders != 0),
        )).scalars())
    return recent | lapsing(books, since, as_of)


def lapsing(books: Books, since: datetime, as_of: datetime) -> set[int]:
    """Members whose tier could have lapsed between two runs.

    A tier changes when a member's events change (re-tiered as they are posted or released)
    or when time moves an event out of its window: at a calendar-year boundary plus grace for
    everyone above the entry tier, or, for rolling windows, for members whose events aged out.
    """
    tiers = books.program.tiers
    if tiers.window == "lifetime":
        return set()
    with books.read() as conn:
        if tiers.window == "calendar_year":
            zone = books.program.zone
            for year in range(since.astimezone(zone).year, as_of.astimezone(zone).year + 1):
                boundary = datetime(year, 1, 1, tzinfo=zone) + timedelta(days=tiers.grace_days)
                if since < boundary <= as_of:
                    query = select(members_table.c.id).where(members_table.c.shop_id == books.shop_id,
                                                             members_table.c.tier.is_not(None))
                    if tiers.levels[0].threshold <= 0:  # a base tier at 0 is a floor: it never lapses
                        query = query.where(members_table.c.tier != tiers.levels[0].id)
                    return set(conn.execute(query).scalars())
            return set()
        reach = timedelta(days=2 * tiers.window_days + tiers.grace_days + 1)
        t = transactions.c
        query = select(t.member_id).distinct().where(
            t.shop_id == books.shop_id, t.tier_at > ledger.utc(since - reach),
            t.tier_at <= ledger.utc(as_of - timedelta(days=tiers.window_days) + timedelta(days=1)),
            (t.tier_points != 0) | (t.tier_spend_minor != 0) | (t.tier_orders != 0),
        )
        return set(conn.execute(query).scalars())


HOOK_BACKOFF_BASE = 60.0
HOOK_BACKOFF_CAP = 6 * 3600.0


def deliver_events(books: Books, as_of: datetime | None = None, limit: int = 1000) -> int:
    """Deliver undelivered outbox events to the notification hooks, oldest first. At least
    once: an event whose hook raised stays undelivered and is tried again after a backoff
    (exponential, jittered, at most six hours) on the jobs' clock, ``as_of``."""
    now = ledger.utc(as_of or books.now())
    with books.read() as conn:
        batch = list(conn.execute(
            select(outbox).where(outbox.c.shop_id == books.shop_id, outbox.c.delivered_at.is_(None),
                                 or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now))
            .order_by(outbox.c.id).limit(limit)
        ))
    delivered: list[int] = []
    failed: list[Any] = []
    for event in batch:
        # Every event names itself and its shop, stably across redeliveries (credits posted on
        # the ledger's fast path store a payload without them).
        payload = {"id": f"{event.shop_id}:{event.dedup_key}", "shop_id": event.shop_id, **dict(event.payload)}
        try:
            books.host.notify(event.kind, payload, books.program)
        except Exception:  # noqa: BLE001 - a failing receiver must not stop the others
            failed.append(event)
        else:
            delivered.append(event.id)
    if delivered or failed:
        with books.write() as conn:
            for ids in _chunks(delivered, 500):
                conn.execute(update(outbox).where(outbox.c.id.in_(ids), outbox.c.delivered_at.is_(None))
                             .values(delivered_at=ledger.utc(books.now()), attempts=outbox.c.attempts + 1))
            for event in failed:
                conn.execute(update(outbox).where(outbox.c.id == event.id).values(
                    attempts=outbox.c.attempts + 1,
                    next_attempt_at=now + backoff(event.attempts + 1, HOOK_BACKOFF_BASE, HOOK_BACKOFF_CAP)))
    return len(delivered)


def _last_run(books: Books, job: str) -> datetime | None:
    with books.read() as conn:
        found = conn.execute(select(job_runs.c.last_as_of).where(
            job_runs.c.shop_id == books.shop_id, job_runs.c.job == job)).scalar()
    return ledger.stored(found)


def record_run(books: Books, job: str, as_of: datetime) -> None:
    with books.write() as conn:
        values = {"last_as_of": ledger.utc(as_of), "updated_at": ledger.utc(books.now())}
        # One statement, so two workers finishing together cannot both insert the first row.
        insert = ledger.dialect_insert(conn, job_runs).values(shop_id=books.shop_id, job=job, **values)
        conn.execute(insert.on_conflict_do_update(
            index_elements=["shop_id", "job"], set_=values, where=job_runs.c.last_as_of < ledger.utc(as_of)))


def run_all(books: Books, as_of: datetime, *, notify: bool = True) -> JobReport:
    """Every job as of ``as_of``; without ``notify`` (a simulation) no reminders are queued and
    no events reach the notification hooks."""
    # Referrals first: a friend's points from an order refunded in its window are taken back
    # while still pending, before the release below would make them spendable.
    settled = referrals.settle(books, as_of)
    released, released_points, touched = release_pending(books, as_of)
    expired, expired_points = expire(books, as_of)
    reminders = remind(books, as_of) if notify else 0
    since = _last_run(books, "retier")
    lapsing = lapse_candidates(books, since, as_of) if since is not None and since <= as_of else None
    # The first run, or a run back in time, re-tiers everyone; later runs only who could change.
    changes = retier(books, as_of, None if lapsing is None else lapsing | touched)
    record_run(books, "retier", as_of)
    delivered = deliver_events(books, as_of) if notify else 0
    return JobReport(released, released_points, expired, expired_points, reminders, changes, delivered,
                     referrals_rewarded=settled.rewarded, referrals_voided=settled.voided)


__all__ = ["JobReport", "deliver_events", "expire", "lapsing", "record_run", "release_pending", "remind",
           "retier", "run_all"]
