"""The simulation's books: the core ledger's bookkeeping, kept in memory for one replay.

``loyalty simulate`` replays a whole order history (a million lines) through a program on books
nobody else writes to, and reads nothing back but totals. The core ledger is built for the other
case: many writers, crash safety, idempotency keys and an audit trail, at a few hundred
microseconds of SQL per posting. Here the same postings are plain Python on the same figures:

- orders are evaluated by the program's own rule engine and hooks (``Engine.order_credit``),
  refunds planned by ``clawback.plan_refund``, tiers resolved by the tier hook, lots drawn by
  ``ledger.plan_draws``: the rules are the core's, only the bookkeeping is here;
- lots, balances, lifetime points and qualifying events move as ``credits``, ``orders.take_back``
  and ``jobs`` move them (each method names the core function it follows);
- orders, refunds and cancellations keep their idempotency keys, so a report twice counts once;
  there is no outbox, audit trail or notification: a simulation reaches no one.

``tests/simulate/test_books.py`` replays histories through these books and through the live
facade (one event at a time, ``run_jobs`` every midnight) and requires the same balances, lots,
tier changes and totals, over every expiry mode, tier window and metric and both clawback
policies.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from attrs import define, field

from loyalty_sdk.core import clawback, tiering
from loyalty_sdk.core.engine import Engine, order_fingerprint, payload_hash
from loyalty_sdk.core.errors import IdempotencyConflict, OrderNotFound
from loyalty_sdk.core.ledger import Draw, plan_draws
from loyalty_sdk.core.models import (
    Cancellation,
    Member,
    MemberRef,
    Order,
    QualifyingEvent,
    Refund,
    TierStats,
)
from loyalty_sdk.core.money import MINOR_UNITS
from loyalty_sdk.core.orders import cancellation_key, refund_key, settled
from loyalty_sdk.core.plugin_host import PluginHost
from loyalty_sdk.core.program import Program

# (moment, inf) sorts after every event at that moment, whatever its transaction number.
_LAST = float("inf")


@define(slots=True)
class Lot:
    """``lots``: points earned together, drawn from in (expiry, id) order."""

    id: int
    member_id: int
    transaction: int
    points: int
    remaining: int
    status: str
    earned_at: datetime
    available_at: datetime
    expires_at: datetime | None
    expired: bool = False
    """The lot's expiry was posted (``lot:<id>:expire``): never again, whatever it still holds."""

    def draw_key(self) -> tuple[bool, datetime | None, int]:
        # ``ledger.open_lots``: soonest expiry first, never-expiring last, then by id.
        return (self.expires_at is None, self.expires_at, self.id)


@define(slots=True)
class Account:
    """One member's row, lots and qualifying events."""

    id: int
    customer_id: str | None
    email: str | None
    enrolled_at: datetime
    tier: str | None
    tier_since: datetime | None
    last_activity_at: datetime
    available: int = 0
    pending: int = 0
    lifetime_points: int = 0
    issued: int = 0
    clawed_back: int = 0
    expired: int = 0
    lots: list[Lot] = field(factory=list)
    # Qualifying events sorted as the ledger sorts them: keys (tier_at, transaction), events.
    keys: list[tuple[datetime, int]] = field(factory=list)
    events: list[QualifyingEvent] = field(factory=list)

    def member(self, shop_id: str) -> Member:
        return Member(self.id, shop_id, self.customer_id, self.email, self.tier, self.enrolled_at, self.available,
                      self.pending, self.lifetime_points, None, None, self.last_activity_at, self.tier_since)

    def open_lots(self, status: str) -> list[Lot]:
        return sorted((lot for lot in self.lots if lot.status == status and lot.remaining > 0), key=Lot.draw_key)


class TakeBack(NamedTuple):
    """A refund's or cancellation's transaction, as a later one reads it."""

    kind: str
    points: int
    detail: dict[str, Any]
    tier_spend_minor: int


@define(slots=True)
class Earned:
    """An order's earn, as ``orders._earned`` reads it back for a refund or cancellation."""

    order: Order
    member_id: int
    transaction: int
    points: int
    currency: str
    eligible_minor: int
    detail: dict[str, Any]
    lot: Lot | None
    # The take-backs that refer to it, as ``orders._previous`` reads them.
    previous: list[TakeBack] = field(factory=list)


def entry_tier(program: Program, host: PluginHost) -> str | None:
    """The tier a member with no history holds: the same for everyone, so resolved once."""
    if not program.tiers.levels:
        return None
    nobody = Member(0, "simulation", "nobody", None, None, datetime(2000, 1, 1, tzinfo=UTC))
    decision = host.resolve_tier(nobody, TierStats(as_of=nobody.enrolled_at), program)
    return decision.tier if decision else None


class AgingWindow:
    """Members with a qualifying event dated in ``(low, high]``, for bounds that only move
    forward, as the nightly runs do: ``jobs.lapsing``'s rolling-window query, without
    scanning a window's worth of events every night. Each event enters and leaves once."""

    def __init__(self) -> None:
        self.low: datetime | None = None
        self.high: datetime | None = None
        self.later: list[tuple[datetime, int]] = []  # after high (all of them before the first call)
        self.inside: list[tuple[datetime, int]] = []  # within (low, high]
        self.count: Counter[int] = Counter()

    def add(self, at: datetime, member_id: int) -> None:
        if self.high is None or at > self.high:
            heapq.heappush(self.later, (at, member_id))
        elif self.low is not None and at > self.low:
            self.count[member_id] += 1
            heapq.heappush(self.inside, (at, member_id))
        # At or before low: out of every later window too.

    def members(self, low: datetime, high: datetime) -> set[int]:
        if (self.low is not None and low < self.low) or (self.high is not None and high < self.high):
            raise ValueError("the window's bounds only move forward")
        self.low, self.high = low, high
        later, inside, count = self.later, self.inside, self.count
        while later and later[0][0] <= high:
            at, member_id = heapq.heappop(later)
            if at > low:
                count[member_id] += 1
                heapq.heappush(inside, (at, member_id))
        while inside and inside[0][0] <= low:
            _at, member_id = heapq.heappop(inside)
            count[member_id] -= 1
            if not count[member_id]:
                del count[member_id]
        return set(count)


class SimulatedBooks:
    """One program's books for a replay. Events must come in time order, as ``plan`` gives them."""

    def __init__(self, program: Program, host: PluginHost, shop_id: str) -> None:
        self.program = program
        self.host = host
        self.shop_id = shop_id
        self.rules = Engine(program, host)
        self.tiered = bool(program.tiers.levels)
        self.exponent = MINOR_UNITS[program.program.currency]
        self.accounts: list[Account] = []
        self.by_ref: dict[MemberRef, Account] = {}
        self.earned: dict[str, Earned] = {}
        # Take-backs by idempotency key: the payload hash, so a second report is a replay.
        self.taken: dict[str, str] = {}
        self.tier_changes: list[tuple[int, str | None, str | None, datetime, str]] = []
        self.last_transaction = 0
        self.last_lot = 0
        # Pending lots by (available_at, id): the release job's queue.
        self.releasing: list[tuple[datetime, int, Lot]] = []
        # Lot expiry: (expires_at, id) of available lots that may expire.
        self.expiring: list[tuple[datetime, int, Lot]] = []
        # Lapse detection: (tier_at, member id) of events no run has passed yet, soonest first.
        self.upcoming: list[tuple[datetime, int]] = []
        # Rolling windows: members with events old enough to be leaving their window.
        self.aging = AgingWindow()
        self.last_run: datetime | None = None
        self.lookback_as_of: datetime | None = None
        self.lookback: datetime | None = None
        self.entry_tier = entry_tier(program, host)
        self.counts: Counter[str] = Counter()

    # -- members -------------------------------------------------------------------------------

    def enroll(self, ref: MemberRef, at: datetime) -> Account:
        at = at.astimezone(UTC)
        account = Account(len(self.accounts) + 1, ref.customer_id, ref.email, at, self.entry_tier,
                          at if self.entry_tier else None, at)
        self.accounts.append(account)
        self.by_ref[ref] = account
        return account

    # -- orders: ``orders.record_order`` and ``credits`` ----------------------------------------

    def record_order(self, order: Order) -> int:
        if order.order_id in self.earned:
            self._replay(f"order:{order.order_id}:earn", order_fingerprint(self.earned[order.order_id].order),
                         order_fingerprint(order))
            return 0
        account = self.by_ref[order.member]
        member = account.member(self.shop_id)
        evaluation = self.rules.evaluate_order(order, member)
        c = self.rules.order_credit(evaluation, member, self.shop_id, order.placed_at)
        txn = self._transaction()
        # In UTC, as the ledger stores and hands back every moment.
        at = c.event_at.astimezone(UTC)
        lot = None
        if c.points:
            if c.pending:
                account.pending += c.points
                remaining = c.points
            else:
                account.available += c.points
                # What pays down a negative balance is drawn from the lot at once.
                remaining = max(0, min(c.points, account.available))
            account.lifetime_points += c.points
            account.issued += c.points
            lot = self._lot(account, txn, c.points, remaining, "pending" if c.pending else "available", at,
                            c.available_at.astimezone(UTC), c.expires_at and c.expires_at.astimezone(UTC))
        account.last_activity_at = max(account.last_activity_at, at)
        qualifying = c.points if not c.pending else 0
        self._qualify(account, at, txn, qualifying, c.tier_spend_minor, c.tier_orders)
        record = c.order
        self.earned[order.order_id] = Earned(order, account.id, txn, c.points, record.currency, record.eligible_minor,
                                             c.detail, lot)
        if qualifying > 0:
            # Points available at once count toward tiers at once.
            self._reevaluate(account, at)
        return c.points

    def _transaction(self) -> int:
        self.last_transaction += 1
        return self.last_transaction

    def _lot(self, account: Account, txn: int, points: int, remaining: int, status: str, earned_at: datetime,
             available_at: datetime, expires_at: datetime | None) -> Lot:
        self.last_lot += 1
        lot = Lot(self.last_lot, account.id, txn, points, remaining, status, earned_at, available_at, expires_at)
        account.lots.append(lot)
        if status == "pending":
            heapq.heappush(self.releasing, (available_at, lot.id, lot))
        elif expires_at is not None:
            heapq.heappush(self.expiring, (expires_at, lot.id, lot))
        return lot

    def _qualify(self, account: Account, at: datetime, txn: int, points: int, spend_minor: int, orders: int) -> None:
        """A transaction's tier contributions (``transactions.tier_*``); all zero counts for nothing."""
        if not (points or spend_minor or orders):
            return
        event = QualifyingEvent(at=at, points=points, spend=Decimal(spend_minor).scaleb(-self.exponent),
                                orders=orders)
        key = (at, txn)
        keys = account.keys
        # Nearly always the newest; a take-back is dated back to when its order qualified.
        place = len(keys) if not keys or keys[-1] <= key else bisect_right(keys, key)
        keys.insert(place, key)
        account.events.insert(place, event)
        heapq.heappush(self.upcoming, (at, account.id))
        if self.program.tiers.window == "rolling":
            self.aging.add(at, account.id)

    # -- refunds and cancellations: ``orders.record_refund``, ``record_cancellation``, ``take_back``

    def record_refund(self, refund: Refund) -> int:
        if self._replayed(refund_key(refund.refund_id), payload_hash(refund)):
            return 0
        earned = self._earned(refund.order_id)
        self.counts["refunds"] += 1
        previous = earned.previous
        if any(p.kind == "cancel" for p in previous):
            return self._take_back(earned, 0, "clawback", refund.refunded_at.astimezone(UTC), {}, 0, 0)
        already = settled(previous)
        before = clawback.refunded_so_far(p.detail for p in previous)
        plan = clawback.plan_refund(earned.detail, before, already, earned.points, refund, earned.currency)
        spend = plan.spend_minor if earned.currency == self.program.program.currency else 0
        return self._take_back(earned, plan.points, "clawback", refund.refunded_at.astimezone(UTC),
                               clawback.state_detail(plan.refunded, before), spend, 0)

    def record_cancellation(self, cancellation: Cancellation) -> int:
        if self._replayed(cancellation_key(cancellation.order_id), payload_hash(cancellation.order_id)):
            return 0
        earned = self._earned(cancellation.order_id)
        self.counts["cancellations"] += 1
        previous = earned.previous
        already = settled(previous)
        spend = earned.eligible_minor + sum(p.tier_spend_minor for p in previous)
        if earned.currency != self.program.program.currency:
            spend = 0
        return self._take_back(earned, clawback.plan_cancel(earned.points, already), "cancel",
                               cancellation.cancelled_at.astimezone(UTC), {}, spend, -1)

    def _replayed(self, key: str, payload: str) -> bool:
        """``ledger.replay_or_conflict``: a key seen before is a replay, or with another payload a conflict."""
        if key in self.taken:
            self._replay(key, self.taken[key], payload)
            return True
        self.taken[key] = payload
        return False

    @staticmethod
    def _replay(key: str, first: str, again: str) -> None:
        if first != again:
            raise IdempotencyConflict(f"idempotency key {key!r} was already used for a different payload",
                                      field="idempotency_key", value=key)

    def _earned(self, order_id: str) -> Earned:
        earned = self.earned.get(order_id)
        if earned is None:
            raise OrderNotFound(f"order {order_id!r} was never recorded in shop {self.shop_id!r}",
                                field="order_id", value=order_id)
        return earned

    def _take_back(self, earned: Earned, points: int, kind: str, at: datetime, detail: dict[str, Any],
                   spend_minor: int, orders_delta: int) -> int:
        account = self.accounts[earned.member_id - 1]
        own = earned.lot
        own_id = own.id if own is not None else None
        tier_at = at
        if own is not None:
            tier_at = own.available_at if own.status == "available" else own.earned_at
        pending_draws, rest = plan_draws(account.open_lots("pending"), points, own_id)
        available_draws, rest = plan_draws(account.open_lots("available"), rest, own_id)
        from_pending = sum(d.points for d in pending_draws)
        from_available = sum(d.points for d in available_draws)
        policy = self.program.clawback
        negative = 0
        if rest and policy.spent_points == "negative":
            room = max(0, (account.available - from_available) + policy.max_negative)
            negative = min(rest, room)
        written_off = rest - negative
        taken = from_pending + from_available + negative
        self._draw(account, pending_draws + available_draws)
        account.pending -= from_pending
        account.available -= from_available + negative
        account.lifetime_points -= taken
        account.clawed_back += taken
        txn = self._transaction()
        earned.previous.append(TakeBack(kind, -taken, {**detail, "written_off": written_off, "negative": negative},
                                        -spend_minor))
        self._qualify(account, tier_at, txn, -(from_available + negative), -spend_minor, orders_delta)
        if taken or spend_minor or orders_delta:
            self._reevaluate(account, at, clawback=True)
        return taken

    def _draw(self, account: Account, draws: list[Draw]) -> None:
        lots = {lot.id: lot for lot in account.lots} if draws else {}
        for draw in draws:
            lots[draw.lot_id].remaining -= draw.points

    # -- tiers: ``tiering.reevaluate`` and ``tiering.apply`` -------------------------------------

    def stats(self, account: Account, as_of: datetime, clawback: bool = False) -> TierStats:
        """``tiering.stats_for``: the member's events dated after the lookback, up to ``as_of``."""
        keys = account.keys
        if not keys:
            return TierStats(as_of=as_of, clawback=clawback)
        if as_of != self.lookback_as_of:  # one lookback for a night's whole re-tier
            # In UTC like every key: comparing with a time in the program's zone costs a zone lookup.
            after = tiering.lookback(self.program, as_of)
            self.lookback_as_of, self.lookback = as_of, after and after.astimezone(UTC)
        after = self.lookback
        # Mostly every event counts: none is older than the lookback, none after as_of.
        first = 0 if after is None or keys[0][0] > after else bisect_right(keys, (after, _LAST))
        last = len(keys) if keys[-1][0] <= as_of else bisect_right(keys, (as_of, _LAST))
        return TierStats(as_of=as_of, events=tuple(account.events[first:last]), clawback=clawback)

    def _reevaluate(self, account: Account, as_of: datetime, clawback: bool = False) -> None:
        if self.tiered:
            self._apply(account, self.stats(account, as_of, clawback))

    def _apply(self, account: Account, stats: TierStats) -> bool:
        decision = self.host.resolve_tier(account.member(self.shop_id), stats, self.program)
        if decision is None or decision.tier == account.tier:
            return False
        self.tier_changes.append((account.id, account.tier, decision.tier, stats.as_of, decision.reason))
        account.tier, account.tier_since = decision.tier, stats.as_of
        return True

    # -- the nightly jobs: ``jobs.run_all(notify=False)`` ----------------------------------------

    def run_jobs(self, as_of: datetime) -> None:
        as_of = as_of.astimezone(UTC)
        touched = self._release(as_of)
        self._expire(as_of)
        since = self.last_run
        if self.tiered:
            dated = self._dated_since(since, as_of)
            if since is not None and since <= as_of:
                self._retier(as_of, dated | self._lapsing(since, as_of) | touched)
            else:
                self._retier(as_of, None)
        if since is None or since < as_of:
            self.last_run = as_of
        self.counts["job_runs"] += 1

    def _release(self, as_of: datetime) -> set[int]:
        """``jobs.release_pending``: pending lots past their return window, by (date, id)."""
        touched: set[int] = set()
        queue = self.releasing
        while queue and queue[0][0] <= as_of:
            _, _, lot = heapq.heappop(queue)
            lot.status = "available"
            amount = lot.remaining
            if amount == 0:
                continue  # taken back in full during the return window: nothing to post
            account = self.accounts[lot.member_id - 1]
            # Released points first pay down a negative balance left by a clawback.
            repaid = min(amount, max(0, -account.available))
            lot.remaining = amount - repaid
            account.pending -= amount
            account.available += amount
            self._qualify(account, lot.available_at, self._transaction(), amount, 0, 0)
            if lot.expires_at is not None:
                heapq.heappush(self.expiring, (lot.expires_at, lot.id, lot))
            touched.add(account.id)
        return touched

    def _expire(self, as_of: datetime) -> None:
        """``jobs.expire``: what the program's expiry policy says has expired at ``as_of``."""
        policy = self.program.expiry
        if policy.mode == "lot":
            queue = self.expiring
            due = []
            while queue and queue[0][0] <= as_of:
                due.append(heapq.heappop(queue)[2])
            for lot in due:
                if lot.remaining > 0 and not lot.expired and not self._expire_lot(lot, as_of):
                    # Nothing to take while the member's balance is not positive: due again tomorrow.
                    heapq.heappush(queue, (lot.expires_at, lot.id, lot))
        elif policy.mode == "inactivity":
            cutoff = as_of - timedelta(days=policy.days)
            for account in self.accounts:
                if account.last_activity_at <= cutoff:
                    for lot in sorted(account.lots, key=lambda lot: lot.id):
                        if lot.status == "available" and lot.remaining > 0 and not lot.expired:
                            self._expire_lot(lot, as_of)

    def _expire_lot(self, lot: Lot, as_of: datetime) -> bool:
        """``jobs._expire_lot``; False when the member holds nothing to expire."""
        account = self.accounts[lot.member_id - 1]
        # Never expire more than the member holds (a negative balance already owes these points).
        amount = min(lot.remaining, max(0, account.available))
        if amount <= 0:
            return False
        lot.remaining -= amount
        lot.expired = True
        account.available -= amount
        account.expired += amount
        self._transaction()
        return True

    def _dated_since(self, since: datetime | None, as_of: datetime) -> set[int]:
        """Members with a qualifying event dated in ``(since, as_of]`` (``jobs.lapse_candidates``)."""
        found: set[int] = set()
        upcoming = self.upcoming
        while upcoming and upcoming[0][0] <= as_of:
            at, member_id = heapq.heappop(upcoming)
            if since is None or at > since:
                found.add(member_id)
        return found

    def _lapsing(self, since: datetime, as_of: datetime) -> set[int]:
        """``jobs.lapsing``: members whose tier could have lapsed between two runs."""
        tiers = self.program.tiers
        if tiers.window == "lifetime":
            return set()
        if tiers.window == "calendar_year":
            zone = self.program.zone
            for year in range(since.astimezone(zone).year, as_of.astimezone(zone).year + 1):
                boundary = datetime(year, 1, 1, tzinfo=zone) + timedelta(days=tiers.grace_days)
                if since < boundary <= as_of:
                    floor = tiers.levels[0].id if tiers.levels[0].threshold <= 0 else None
                    return {a.id for a in self.accounts if a.tier is not None and a.tier != floor}
            return set()
        reach = timedelta(days=2 * tiers.window_days + tiers.grace_days + 1)
        return self.aging.members(since - reach, as_of - timedelta(days=tiers.window_days) + timedelta(days=1))

    def _retier(self, as_of: datetime, only: set[int] | None) -> None:
        """``jobs.retier`` over ``only`` (None: everyone), in member order."""
        accounts = self.accounts if only is None else [self.accounts[i - 1] for i in sorted(only)]
        for account in accounts:
            if self._apply(account, self.stats(account, as_of)):
                self.counts["tier_changes"] += 1

    # -- totals --------------------------------------------------------------------------------

    def tier_distribution(self) -> dict[str, int]:
        """``report.tier_distribution``."""
        counts = {level.id: 0 for level in self.program.tiers.levels}
        for tier, count in Counter(a.tier for a in self.accounts).items():
            counts[tier or "none"] = count
        return counts

    def crossed(self) -> dict[str, int]:
        """Members who reached each tier above the entry tier, once each."""
        reached: dict[str, set[int]] = {}
        for member_id, _from, to_tier, _at, _reason in self.tier_changes:
            if to_tier != self.entry_tier:
                reached.setdefault(to_tier, set()).add(member_id)
        return {level.id: len(reached.get(level.id, ())) for level in self.program.tiers.levels
                if level.id != self.entry_tier}


__all__ = ["Account", "AgingWindow", "Lot", "SimulatedBooks", "entry_tier"]
