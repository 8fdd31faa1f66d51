"""The simulation's in-memory books against the live engine: the same history, posted one
event at a time through the facade with ``run_jobs`` every midnight, must leave the same
members, balances, lots, tier changes and totals."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from loyalty_sdk.core.errors import IdempotencyConflict
from loyalty_sdk.core.ledger import stored
from loyalty_sdk.core.models import Cancellation, Refund
from loyalty_sdk.core.money import Money
from loyalty_sdk.core.plugin_host import PluginHost
from loyalty_sdk.core.program import load_program
from loyalty_sdk.core.storage import entries, lots, members, tier_changes
from loyalty_sdk.simulate import plan, read_history, simulate
from loyalty_sdk.simulate.books import AgingWindow, SimulatedBooks
from loyalty_sdk.simulate.replay import replay_books

# One point per dollar, three tiers (by points or by spend in dollars, at the same thresholds, or
# by orders) that multiply earning; the expiry and the clawback policy vary.
TIERED = """
[program]
name = "Tiered"

[earn]
pending_days = {pending_days}

[expiry]
mode = "{expiry}"
days = {expiry_days}
reminder_days = []

[clawback]
spent_points = "{spent}"
max_negative = 40

[tiers]
metric = "{metric}"
window = "{window}"
window_days = 20
grace_days = 3
levels = [{{ id = "member", threshold = 0 }}, {{ id = "silver", threshold = {silver}, multiplier = "1.5" }},
          {{ id = "gold", threshold = {gold}, multiplier = "2" }}]
"""

END = datetime(2026, 3, 20, tzinfo=UTC)  # well after the last order: every window runs out


def _busy_history(seed: int) -> list[dict[str, str]]:
    """Four customers, each buying several times a day for a month and then stopping (so tiers
    are won and lapse), over a new year; one order in five refunded, half of those the same day."""
    rng = random.Random(seed)
    start = datetime(2025, 12, 10, tzinfo=UTC)
    rows = []
    for number in range(150):
        day = number // 3
        active = [k for k in range(4) if 10 * k <= day < 10 * k + 25]
        at = start + timedelta(days=day, hours=8 + rng.randrange(12), minutes=rng.randrange(60))
        order_id = f"B{number}"
        for line in range(1 + number % 2):
            rows.append({"kind": "order", "order_id": order_id, "at": at.isoformat(),
                         "customer_id": f"c{rng.choice(active)}" if line == 0 else rows[-1]["customer_id"],
                         "currency": "USD", "price": f"{rng.randint(10, 70)}.{rng.randint(0, 99):02d}",
                         "quantity": str(rng.randint(1, 2))})
        if number % 5 == 0:
            later = at + (timedelta(minutes=30) if number % 10 == 0 else timedelta(days=rng.randint(1, 25)))
            rows.append({"kind": "refund", "order_id": order_id, "at": later.isoformat(), "currency": "USD",
                         "amount": f"{rng.randint(5, 120)}.00", "refund_id": f"R{number}"})
    return rows


def _history(generic_csv: Any, seed: int = 11) -> Any:
    history = read_history(generic_csv(_busy_history(seed)))
    # Some orders cancelled, one of them after a refund, one cancelled twice over by a refund after.
    for order in history.orders[7::13]:
        history.cancellations.append(Cancellation(order.order_id, order.placed_at + timedelta(days=2)))
    return history


def _in_memory(program: Any, history: Any) -> tuple[SimulatedBooks, dict[str, Any]]:
    books = SimulatedBooks(program, PluginHost(entry_points=False), "simulation")
    replay_books(books, plan(history, end=END))
    names = {a.id: a.customer_id for a in books.accounts}
    return books, {
        "balances": sorted((a.customer_id, a.available, a.pending, a.lifetime_points, a.tier) for a in books.accounts),
        "lots": sorted((lot.id, names[lot.member_id], lot.points, lot.remaining, lot.status)
                       for a in books.accounts for lot in a.lots),
        "tier_changes": [(names[m], old, new, at, reason) for m, old, new, at, reason in books.tier_changes],
        "totals": sorted((a.customer_id, -a.issued, a.clawed_back, a.expired) for a in books.accounts
                         if a.issued or a.expired),
    }


def _live(loyalty_at: Any, clock: Any, program: Any, history: Any) -> dict[str, Any]:
    live = loyalty_at(program=program)
    for event in plan(history, end=END):
        clock.now = event.at
        if event.kind == "enroll":
            for ref, at in event.data:
                live.enroll(ref.customer_id, email=ref.email, at=at)
        elif event.kind == "order":
            live.record_order(event.data)
        elif event.kind == "refund":
            live.record_refund(event.data)
        elif event.kind == "cancel":
            live.record_cancellation(event.data)
        elif event.kind == "jobs":
            live.run_jobs(as_of=event.at)
    assert live.doctor()["ok"]
    m, e = members.c, entries.c
    with live.books.read() as conn:
        names = dict(conn.execute(select(m.id, m.customer_id)).all())
        accounts = {name: {"issued": 0, "clawed_back": 0, "expired": 0} for name in names.values()}
        for member_id, account, amount in conn.execute(
                select(e.member_id, e.account, func.sum(e.amount))
                .where(e.account.in_(("issued", "clawed_back", "expired"))).group_by(e.member_id, e.account)):
            accounts[names[member_id]][account] = int(amount)
        return {
            "balances": sorted(tuple(row) for row in conn.execute(
                select(m.customer_id, m.available, m.pending, m.lifetime_points, m.tier))),
            "lots": sorted((row.id, names[row.member_id], row.points, row.remaining, row.status)
                           for row in conn.execute(select(lots))),
            # A member enrolled through the facade is placed in the entry tier by their first
            # re-tier; the simulation enrolls them there.
            "tier_changes": [(names[row.member_id], row.from_tier, row.to_tier, stored(row.as_of), row.reason)
                             for row in conn.execute(select(tier_changes).order_by(tier_changes.c.id))
                             if row.from_tier is not None],
            "totals": sorted((name, t["issued"], t["clawed_back"], t["expired"]) for name, t in accounts.items()
                             if t["issued"] or t["expired"]),
        }


VARIANTS = [
    # (pending_days, window, metric, expiry, expiry days, spent points policy)
    (0, "lifetime", "points", "lot", 30, "negative"),
    (14, "lifetime", "points", "lot", 30, "negative"),
    (0, "rolling", "points", "lot", 30, "negative"),
    (14, "rolling", "points", "lot", 10, "write_off"),
    (0, "calendar_year", "points", "lot", 30, "write_off"),
    (14, "calendar_year", "points", "lot", 30, "negative"),
    # Spend counts when the order is placed, while its points are still pending.
    (14, "rolling", "spend", "lot", 30, "negative"),
    (14, "calendar_year", "spend", "none", 30, "negative"),
    (7, "rolling", "orders", "inactivity", 12, "negative"),
    (0, "lifetime", "points", "inactivity", 12, "write_off"),
]


@pytest.mark.parametrize(("pending_days", "window", "metric", "expiry", "expiry_days", "spent"), VARIANTS)
def test_in_memory_books_are_the_live_engines(program_file, generic_csv, loyalty_at, clock, pending_days, window,
                                               metric, expiry, expiry_days, spent) -> None:
    program = load_program(program_file(text=TIERED.format(
        pending_days=pending_days, window=window, metric=metric, expiry=expiry, expiry_days=expiry_days,
        spent=spent, silver=5 if metric == "orders" else 150, gold=12 if metric == "orders" else 400)))
    history = _history(generic_csv)
    books, simulated = _in_memory(program, history)
    live = _live(loyalty_at, clock, program, history)
    # The history does what it is here for: members move up, refunds and cancellations take
    # points back, and (in a rolling window) tiers lapse.
    assert books.crossed()["gold"] > 0 and books.counts["cancellations"] > 0
    assert sum(clawed for *_, clawed, _expired in simulated["totals"]) > 0
    assert window != "rolling" or any(to_tier == "member" for _c, _from, to_tier, *_ in simulated["tier_changes"])
    assert expiry == "none" or sum(expired for *_, expired in simulated["totals"]) > 0
    for part in ("balances", "lots", "tier_changes", "totals"):
        assert simulated[part] == live[part], part


def test_the_built_in_program_and_its_figures(generic_csv, loyalty_at, clock) -> None:
    program = load_program()
    history = _history(generic_csv, seed=3)
    _books, simulated = _in_memory(program, history)
    live = _live(loyalty_at, clock, program, history)
    assert simulated == live
    figures = simulate(program, history, redemption_rate=Decimal(0), end=END, entry_points=False)
    issued = -sum(issued for _name, issued, *_ in live["totals"])
    clawed_back = sum(clawed for *_, clawed, _expired in live["totals"])
    assert figures["points"]["issued"] == issued and figures["points"]["clawed_back"] == clawed_back
    assert figures["points"]["outstanding"] == sum(available + pending for _c, available, pending, *_ in
                                                   live["balances"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.lists(st.tuples(st.integers(0, 60), st.integers(1, 6)), max_size=6),
                          st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=25))
def test_the_aging_window_finds_who_a_scan_of_every_event_finds(nights) -> None:
    # Each night: events posted (dated anywhere, earlier ones included), then both bounds move
    # forward by a few days; the members found must be those a scan of all events finds.
    window, posted = AgingWindow(), []
    base, low, high = datetime(2026, 1, 1, tzinfo=UTC), 0, 10
    for events, low_step, high_step in nights:
        for day, member_id in events:
            window.add(base + timedelta(days=day), member_id)
            posted.append((day, member_id))
        low, high = low + low_step, max(high + high_step, low + low_step)
        scan = {member_id for day, member_id in posted if low < day <= high}
        assert window.members(base + timedelta(days=low), base + timedelta(days=high)) == scan


def test_a_report_twice_counts_once_and_a_reused_id_is_refused(generic_csv, loyalty_at, clock) -> None:
    # The same order, refund and cancellation reported twice, as a platform export may hold
    # them: the books count each once, as the ledger's idempotency keys do.
    program = load_program()
    history = _history(generic_csv, seed=5)
    once = _in_memory(program, history)[1]
    history.orders.append(history.orders[3])
    history.refunds.append(history.refunds[0])
    history.cancellations.append(history.cancellations[0])
    twice = _in_memory(program, history)[1]
    assert twice == once == _live(loyalty_at, clock, program, history)
    # A refund id reused for another amount is a conflict, as on the live ledger.
    first = history.refunds[0]
    history.refunds.append(Refund(first.refund_id, first.order_id, first.refunded_at + timedelta(hours=1),
                                  amount=Money(Decimal("1.00"), "USD")))
    with pytest.raises(IdempotencyConflict, match=first.refund_id):
        _in_memory(program, history)
