"""Replay an order history through a program and total the books.

    history = read_history("orders.csv", "shopify")
    result = simulate(load_program("loyalty.toml"), history, redemption_rate=Decimal("0.6"))

Events go in time order (:func:`plan`): each day's new members (every customer joins at their
first order), orders, refunds and cancellations, and the scheduled jobs (release, expiry,
re-tier) at every simulated midnight (UTC). :func:`simulate` keeps the books in memory
(:class:`loyalty_sdk.simulate.books.SimulatedBooks`: the core's rules and hooks, the ledger's
bookkeeping without its SQL); :func:`replayed` replays the same events on a real SQLite ledger,
open for inspection through the facade, and is what the in-memory books are tested against.
Redemptions are not posted: the redemption rate is applied afterwards, per member, as described
in docs/simulate.md.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from sqlalchemy import insert

from loyalty_sdk.core import collector
from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.jobs import run_all
from loyalty_sdk.core.ledger import utc
from loyalty_sdk.core.models import MemberRef, Order
from loyalty_sdk.core.money import Money
from loyalty_sdk.core.plugin_host import PluginHost
from loyalty_sdk.core.program import Program
from loyalty_sdk.core.report import liability, tier_distribution
from loyalty_sdk.core.storage import members as members_table
from loyalty_sdk.demo import RANKS, DemoClock, Event, Replay
from loyalty_sdk.facade import Loyalty
from loyalty_sdk.simulate.books import SimulatedBooks, entry_tier
from loyalty_sdk.simulate.sources import GuestOrder, History

SHOP = "simulation"
TOP_CUSTOMERS = 10
SHARE = Decimal("0.0001")
PROGRESS_EVERY = 256  # orders between two progress reports

Progress = Callable[[int, int], None]


def _midnight(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(UTC).date(), time(), tzinfo=UTC)


def plan(history: History, start: datetime | None = None, end: datetime | None = None) -> list[Event]:
    """The history's events in ``[start, end)`` in replay order: each day's new members, its
    orders, refunds and cancellations, and the jobs at every midnight after the first event up
    to the end (``end``, or the midnight after the last event)."""
    def inside(at: datetime) -> bool:
        return _inside(at, start, end)

    events: list[Event] = []

    def add(at: datetime, kind: str, data: Any) -> None:
        events.append(Event(at, RANKS[kind], len(events), kind, data))

    kept = {order.order_id for order in history.orders if inside(order.placed_at)}
    first_order: dict[MemberRef, datetime] = {}
    for order in history.orders:
        if order.order_id in kept:
            add(order.placed_at, "order", order)
            if order.member not in first_order or order.placed_at < first_order[order.member]:
                first_order[order.member] = order.placed_at
    for refund in history.refunds:
        if refund.order_id in kept and inside(refund.refunded_at):
            add(refund.refunded_at, "refund", refund)
    for cancellation in history.cancellations:
        if cancellation.order_id in kept and inside(cancellation.cancelled_at):
            add(cancellation.cancelled_at, "cancel", cancellation)
    if not events:
        return []
    joining: dict[datetime, list[tuple[MemberRef, datetime]]] = {}
    for ref, at in first_order.items():
        joining.setdefault(_midnight(at), []).append((ref, at))
    for day, people in joining.items():
        add(day, "enroll", people)
    first, last = min(events).at, max(events).at
    day, stop = _midnight(first) + timedelta(days=1), end or _midnight(last) + timedelta(days=1)
    while day <= stop:
        add(day, "jobs", None)
        day += timedelta(days=1)
    return sorted(events)


class SimulationReplay(Replay):
    """The demo's replay on a SQLite ledger, with members enrolled in bulk, a day at a time,
    the jobs run as ``run_all(notify=False)``, and a tier count at the start of each month."""

    def __init__(self, loyalty: Loyalty, clock: DemoClock, progress: Progress | None, total: int) -> None:
        super().__init__(loyalty, clock, random.Random(0), progress, total)
        self.monthly: list[dict[str, Any]] = []
        self.entry_tier = entry_tier(loyalty.program, loyalty.host)

    def enroll(self, event: Event) -> None:
        people: list[tuple[MemberRef, datetime]] = event.data
        with self.loyalty.books.write() as conn:
            conn.execute(insert(members_table), [
                {"shop_id": self.loyalty.shop_id, "customer_id": ref.customer_id, "email": ref.email,
                 "enrolled_at": utc(at), "available": 0, "pending": 0, "lifetime_points": 0,
                 "tier": self.entry_tier, "tier_since": utc(at) if self.entry_tier else None,
                 "last_activity_at": utc(at)}
                for ref, at in people
            ])
        self.counts["enrolled"] += len(people)

    def orders(self, batch: Sequence[Event]) -> None:
        # A batch evaluates every order on its member as the batch began. One by one, a
        # member's second order sees what the first did (a same-day upgrade, anything a plugin
        # reads off the member), so a member's next order starts a new batch.
        for run in _one_order_per_member(batch):
            # Points available at once re-tier their member as of max(placed, clock): with the
            # clock at the run's first order that is each order's own time, as one by one.
            self.clock.now = run[0].at
            super().orders(run)
        self.clock.now = batch[-1].at

    def jobs(self, event: Event) -> None:
        # A simulation must not reach anyone: no reminders, no notification hooks.
        run_all(self.loyalty.books, event.at, notify=False)
        self.counts["job_runs"] += 1
        if event.at.day == 1:
            with self.loyalty.books.read() as conn:
                counts = tier_distribution(conn, self.loyalty.shop_id, self.loyalty.program)
            self.monthly.append({"month": (event.at - timedelta(days=1)).strftime("%Y-%m"), "tiers": counts})


def _one_order_per_member(batch: Sequence[Event]) -> Iterator[list[Event]]:
    """Consecutive runs of ``batch`` in which no member orders twice."""
    run: list[Event] = []
    seen: set[MemberRef] = set()
    for event in batch:
        member = event.data.member
        if member in seen:
            yield run
            run, seen = [], set()
        run.append(event)
        seen.add(member)
    if run:
        yield run


@contextmanager
def replayed(program: Program, history: History, *, start: datetime | None = None, end: datetime | None = None,
             progress: Progress | None = None, plugins: Sequence[object] = (),
             entry_points: bool = True) -> Iterator[tuple[Loyalty, SimulationReplay, list[Event]]]:
    """``history`` replayed through ``program`` on a SQLite ledger in memory, open for reading
    until the block ends: the Loyalty, the replay (its counts) and the events replayed. The
    reference :func:`simulate`'s in-memory books are tested against; slower by far."""
    events = plan(history, start, end)
    total = sum(1 for event in events if event.kind == "order")
    with Loyalty("sqlite://", program, shop=SHOP, clock=DemoClock(), plugins=plugins, entry_points=entry_points,
                 engine_options={"synchronous": "OFF"}) as loyalty:
        replay = SimulationReplay(loyalty, loyalty.books.clock, progress, total)
        replay.run(events)
        yield loyalty, replay, events


def simulate(program: Program, history: History, *, redemption_rate: Decimal = Decimal("0.6"),
             start: datetime | None = None, end: datetime | None = None, progress: Progress | None = None,
             plugins: Sequence[object] = (), entry_points: bool = True) -> dict[str, Any]:
    """Replay ``history`` through ``program`` on in-memory books; the figures as JSON-ready data."""
    if not isinstance(redemption_rate, Decimal) or not Decimal(0) <= redemption_rate <= Decimal(1):
        raise InvalidInput(f"redemption rate must be a decimal between 0 and 1, got {redemption_rate!r}",
                           field="redemption_rate", value=str(redemption_rate))
    events = plan(history, start, end)
    books = SimulatedBooks(program, PluginHost(plugins, entry_points=entry_points), SHOP)
    monthly = replay_books(books, events, progress)
    orders = [event.data for event in events if event.kind == "order"]
    guests = [guest for guest in history.guests if _inside(guest.placed_at, start, end)]
    return _figures(books, monthly, guests, events, orders, redemption_rate)


def replay_books(books: SimulatedBooks, events: Sequence[Event],
                 progress: Progress | None = None) -> list[dict[str, Any]]:
    """Post ``events`` (from :func:`plan`) to ``books``; the tier counts at each month's start."""
    monthly: list[dict[str, Any]] = []
    total = sum(1 for event in events if event.kind == "order")
    done = 0
    # Hundreds of thousands of small objects that form no cycles: see ``collector``.
    with collector.paused():
        for event in events:
            kind = event.kind
            if kind == "order":
                books.record_order(event.data)
                done += 1
                if progress is not None and (done % PROGRESS_EVERY == 0 or done == total):
                    progress(done, total)
            elif kind == "refund":
                books.record_refund(event.data)
            elif kind == "cancel":
                books.record_cancellation(event.data)
            elif kind == "enroll":
                for ref, at in event.data:
                    books.enroll(ref, at)
            elif kind == "jobs":
                books.run_jobs(event.at)
                if event.at.day == 1:
                    monthly.append({"month": (event.at - timedelta(days=1)).strftime("%Y-%m"),
                                    "tiers": books.tier_distribution()})
    return monthly


def _inside(at: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or at >= start) and (end is None or at < end)


def _figures(books: SimulatedBooks, monthly: list[dict[str, Any]], guests: Sequence[GuestOrder],
             events: Sequence[Event], orders: Sequence[Order], rate: Decimal) -> dict[str, Any]:
    program = books.program
    currency = program.program.currency
    revenue = _revenue(guests, events, orders)
    # Members the ledger holds entries for, as ``_per_member`` would read them from entries.
    people = [{"customer": a.customer_id or a.email, "earned": a.issued - a.clawed_back, "expired": a.expired}
              for a in books.accounts if a.issued or a.expired]
    issued = sum(a.issued for a in books.accounts)
    clawed_back = sum(a.clawed_back for a in books.accounts)
    redeemed = expired = 0
    for person in people:
        person["redeemed"], person["expired"] = redeem(person["earned"], person["expired"], rate)
        redeemed += person["redeemed"]
        expired += person["expired"]
    outstanding = issued - clawed_back - redeemed - expired
    home = Money.from_minor(revenue.get(currency, 0), currency)
    top = sorted(people, key=lambda p: (-p["earned"], p["customer"]))[:TOP_CUSTOMERS]
    return {
        "program": program.program.name,
        "version": program.version,
        "members": len(people),
        "orders": len(orders),
        "refunds": books.counts["refunds"],
        "cancellations": books.counts["cancellations"],
        "revenue": _money(home),
        "revenue_other_currencies": {code: str(Money.from_minor(minor, code).amount)
                                     for code, minor in sorted(revenue.items()) if code != currency},
        "points": {"issued": issued, "clawed_back": clawed_back, "redeemed": redeemed,
                   "expired": expired, "outstanding": outstanding},
        "liability": {**_money(liability(outstanding, program)), "share_of_revenue": None},
        "discount_cost": {**_money(liability(redeemed, program)), "share_of_revenue": None},
        "tiers": {"end": books.tier_distribution(), "monthly": monthly, "crossed": books.crossed()},
        "top_customers": [{"customer": p["customer"], "points": p["earned"],
                           "value": _money(liability(p["earned"], program))} for p in top],
    } | _shares(home, liability(outstanding, program), liability(redeemed, program))


def redeem(earned: int, expired: int, rate: Decimal) -> tuple[int, int]:
    """A member's (redeemed, expired) under ``rate``: they spend ``floor(rate * earned)`` of the
    points they earned (less clawbacks), oldest first and before it lapses, so spending first
    uses up points the ledger saw expire."""
    spent = int((rate * max(earned, 0)).to_integral_value(rounding=ROUND_FLOOR))
    return spent, max(0, expired - spent)


def _revenue(guests: Sequence[GuestOrder], events: Sequence[Event], orders: Sequence[Order]) -> dict[str, int]:
    """Merchandise sold less refunds, in minor units per currency (guest orders included)."""
    revenue: Counter[str] = Counter()
    for order in orders:
        revenue[order.currency] += sum(order.line_nets.values())
    for guest in guests:
        revenue[guest.currency] += guest.net_minor
    for event in events:
        if event.kind == "refund" and event.data.amount is not None:
            revenue[event.data.amount.currency] -= event.data.amount.minor
    return dict(revenue)


def _money(money: Money) -> dict[str, str]:
    return {"amount": str(money.amount), "currency": money.currency}


def _shares(revenue: Money, owed: Money, cost: Money) -> dict[str, Any]:
    if revenue.amount <= 0:
        return {}
    return {
        "liability": {**_money(owed), "share_of_revenue": str((owed.amount / revenue.amount).quantize(SHARE))},
        "discount_cost": {**_money(cost), "share_of_revenue": str((cost.amount / revenue.amount).quantize(SHARE))},
    }


__all__ = ["SimulationReplay", "plan", "redeem", "replay_books", "replayed", "simulate"]
