"""The scheduled jobs of a simulation: ``run_all(notify=False)`` with a re-tier that reads the
members' qualifying events from memory instead of from the whole ledger every night.

The simulated ledger belongs to the replay alone and its transactions are append-only, so
every qualifying event is read once (by transaction id) and kept per member. The re-tier then
hands the tier hook exactly the events ``tiering.stats_for_shop`` would have read: those dated
after the program's lookback and up to the run, in (tier_at, id) order.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from loyalty_sdk.core import jobs, ledger, members, referrals, tiering
from loyalty_sdk.core.books import Books
from loyalty_sdk.core.models import QualifyingEvent, TierStats
from loyalty_sdk.core.money import MINOR_UNITS
from loyalty_sdk.core.storage import members as members_table
from loyalty_sdk.core.storage import transactions

# The in (...) list of one members query, as the core's re-tier batches it.
MEMBERS_PER_QUERY = 500


class TierEvents:
    """Every qualifying event of the shop, per member, sorted as the ledger would sort them."""

    def __init__(self, books: Books) -> None:
        self.books = books
        self.exponent = MINOR_UNITS[books.program.program.currency]
        self.last_id = 0
        # Per member: sort keys (tier_at, transaction id) and the events, in the same order.
        self.keys: dict[int, list[tuple[datetime, int]]] = {}
        self.events: dict[int, list[QualifyingEvent]] = {}
        # (tier_at, member id) of events no run has passed yet, soonest first.
        self.upcoming: list[tuple[datetime, int]] = []

    def catch_up(self) -> None:
        """Read the qualifying transactions posted since the last call."""
        c = transactions.c
        query = select(c.id, c.member_id, c.tier_at, c.tier_points, c.tier_spend_minor, c.tier_orders).where(
            c.shop_id == self.books.shop_id, c.id > self.last_id,
            (c.tier_points != 0) | (c.tier_spend_minor != 0) | (c.tier_orders != 0),
        ).order_by(c.id)
        with self.books.read() as conn:
            rows = conn.execute(query).all()
        for row in rows:
            at = ledger.stored(row.tier_at)
            event = QualifyingEvent(at=at, points=row.tier_points,
                                    spend=Decimal(row.tier_spend_minor).scaleb(-self.exponent), orders=row.tier_orders)
            keys = self.keys.setdefault(row.member_id, [])
            events = self.events.setdefault(row.member_id, [])
            key = (at, row.id)
            # Nearly always the newest; a clawback is dated back to when its order qualified.
            place = len(keys) if not keys or keys[-1] <= key else bisect_right(keys, key)
            keys.insert(place, key)
            events.insert(place, event)
            heapq.heappush(self.upcoming, (at, row.member_id))
        if rows:
            self.last_id = rows[-1].id

    def dated(self, since: datetime | None, as_of: datetime) -> set[int]:
        """Members with an event dated in ``(since, as_of]``, for runs at increasing ``as_of``:
        each event is handed out by the first run at or after its date (the query of
        ``jobs.lapse_candidates``, without reading the whole ledger every night)."""
        found: set[int] = set()
        upcoming = self.upcoming
        while upcoming and upcoming[0][0] <= as_of:
            at, member_id = heapq.heappop(upcoming)
            if since is None or at > since:
                found.add(member_id)
        return found

    def stats(self, member_id: int, after: datetime | None, as_of: datetime) -> TierStats:
        """The member's events dated in ``(after, as_of]`` (``after`` None: from the start)."""
        keys = self.keys.get(member_id)
        if not keys:
            return TierStats(as_of=as_of)
        # (moment, inf) sorts after every event at that moment, whatever its id.
        first = 0 if after is None else bisect_right(keys, (after, float("inf")))
        last = bisect_right(keys, (as_of, float("inf")))
        return TierStats(as_of=as_of, events=tuple(self.events[member_id][first:last]))


class NightlyJobs:
    """Runs the scheduled jobs at each simulated midnight, as ``jobs.run_all(notify=False)``."""

    def __init__(self, books: Books) -> None:
        self.books = books
        self.tier_events = TierEvents(books)
        self.last_run: datetime | None = None

    def run(self, as_of: datetime) -> None:
        books = self.books
        # The order of run_all: referrals, release, expire, then who to re-tier (no reminders
        # and no notifications in a simulation).
        referrals.settle(books, as_of)
        _released, _points, touched = jobs.release_pending(books, as_of)
        jobs.expire(books, as_of)
        since = self.last_run
        if books.program.tiers.levels:
            self.tier_events.catch_up()
            dated = self.tier_events.dated(since, as_of)
            if since is not None and since <= as_of:
                # jobs.lapse_candidates: members with events dated since the last run, and
                # those whose tier could have lapsed in between.
                self.retier(as_of, dated | jobs.lapsing(books, since, as_of) | touched)
            else:
                self.retier(as_of, None)
        jobs.record_run(books, "retier", as_of)
        if since is None or since < as_of:
            self.last_run = as_of

    def retier(self, as_of: datetime, only: set[int] | None) -> int:
        """``jobs.retier``, with the stats read from memory; a change is applied as there."""
        books = self.books
        program = books.program
        if not program.tiers.levels or only == set():
            return 0
        lookback = tiering.lookback(program, as_of)
        changed = 0
        for row in self._members(only):
            stats = self.tier_events.stats(row.id, lookback, as_of)
            decision = books.host.resolve_tier(members.to_member(row), stats, program)
            if decision is None or decision.tier == row.tier:
                continue
            # No other writer: the figures read above are still the fresh ones.
            with books.write() as conn:
                locked = ledger.lock_member(conn, books.shop_id, row.id)
                if tiering.apply(conn, books.host, program, members.to_member(locked), stats, books.now()):
                    changed += 1
        return changed

    def _members(self, only: set[int] | None) -> list[Any]:
        m = members_table.c
        query = select(members_table).where(m.shop_id == self.books.shop_id)
        with self.books.read() as conn:
            if only is None:
                return list(conn.execute(query.order_by(m.id)))
            ids = sorted(only)
            rows = []
            for first in range(0, len(ids), MEMBERS_PER_QUERY):
                rows.extend(conn.execute(query.where(m.id.in_(ids[first:first + MEMBERS_PER_QUERY]))))
            return sorted(rows, key=lambda row: row.id)


__all__ = ["NightlyJobs", "TierEvents"]
