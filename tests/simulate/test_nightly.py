"""The simulation's fast path (batched orders, nightly jobs with tier stats kept in memory)
against the slow one: every order posted alone at its own time, ``run_all`` every midnight."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from loyalty_sdk.core.jobs import run_all
from loyalty_sdk.core.program import load_program
from loyalty_sdk.core.storage import members, tier_changes
from loyalty_sdk.demo import Replay
from loyalty_sdk.simulate import read_history, replayed, simulate
from loyalty_sdk.simulate.nightly import NightlyJobs
from loyalty_sdk.simulate.replay import SimulationReplay

# One point per dollar, lots expiring after 30 days, three tiers (by points or by spend, in
# dollars: the same thresholds) that multiply earning.
TIERED = """
[program]
name = "Tiered"

[earn]
pending_days = {pending_days}

[expiry]
mode = "lot"
days = 30
reminder_days = []

[tiers]
metric = "{metric}"
window = "{window}"
window_days = 20
grace_days = 3
levels = [{{ id = "member", threshold = 0 }}, {{ id = "silver", threshold = 150, multiplier = "1.5" }},
          {{ id = "gold", threshold = 400, multiplier = "2" }}]
"""


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
        rows.append({"kind": "order", "order_id": order_id, "at": at.isoformat(),
                     "customer_id": f"c{rng.choice(active)}", "currency": "USD",
                     "price": f"{rng.randint(10, 70)}.{rng.randint(0, 99):02d}", "quantity": str(rng.randint(1, 2))})
        if number % 5 == 0:
            later = at + (timedelta(minutes=30) if number % 10 == 0 else timedelta(days=rng.randint(1, 25)))
            rows.append({"kind": "refund", "order_id": order_id, "at": later.isoformat(), "currency": "USD",
                         "amount": "9.00", "refund_id": f"R{number}"})
    return rows


def _one_by_one(self: SimulationReplay, batch: Any) -> None:
    for event in batch:
        self.clock.now = event.at
        Replay.orders(self, [event])


def _slow_nights(self: NightlyJobs, as_of: datetime) -> None:
    run_all(self.books, as_of, notify=False)


def _books(history: Any, program: Any) -> tuple[dict[str, Any], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    # Jobs to well after the last order, so every window and grace period runs out.
    end = datetime(2026, 3, 20, tzinfo=UTC)
    figures = simulate(program, history, redemption_rate=Decimal("0.4"), end=end, entry_points=False)
    with replayed(program, history, end=end, entry_points=False) as (loyalty, _replay, _events):
        with loyalty.books.read() as conn:
            changes = [tuple(row) for row in conn.execute(
                select(tier_changes.c.member_id, tier_changes.c.from_tier, tier_changes.c.to_tier,
                       tier_changes.c.as_of, tier_changes.c.reason).order_by(tier_changes.c.member_id,
                                                                            tier_changes.c.as_of,
                                                                            tier_changes.c.id))]
            balances = [tuple(row) for row in conn.execute(
                select(members.c.customer_id, members.c.available, members.c.pending, members.c.lifetime_points,
                       members.c.tier).order_by(members.c.customer_id))]
        assert loyalty.doctor()["ok"]
    return figures, changes, balances


@pytest.mark.parametrize(("pending_days", "window", "metric"), [
    (0, "lifetime", "points"), (14, "lifetime", "points"), (0, "rolling", "points"), (14, "rolling", "points"),
    (0, "calendar_year", "points"), (14, "calendar_year", "points"),
    # Spend counts when the order is placed, while its points are still pending.
    (14, "rolling", "spend"), (14, "calendar_year", "spend"),
])
def test_fast_path_gives_the_slow_paths_books(program_file, generic_csv, monkeypatch, pending_days, window,
                                              metric) -> None:
    program = load_program(program_file(text=TIERED.format(pending_days=pending_days, window=window, metric=metric)))
    history = read_history(generic_csv(_busy_history(11)))
    fast = _books(history, program)
    with monkeypatch.context() as patched:
        patched.setattr(SimulationReplay, "orders", _one_by_one)
        patched.setattr(NightlyJobs, "run", _slow_nights)
        slow = _books(history, program)
    figures, changes, _balances = fast
    # The history does what it is here for: members move up, refunds take points back, and
    # (in a rolling window) tiers lapse.
    assert figures["tiers"]["crossed"]["gold"] > 0 and figures["points"]["clawed_back"] > 0
    assert window != "rolling" or any(to_tier == "member" for _id, _from, to_tier, *_ in changes)
    assert fast == slow


def test_a_same_day_upgrade_counts_for_the_next_order_that_day(program_file, generic_csv) -> None:
    rows = [{"kind": "order", "order_id": f"O{n}", "at": f"2026-01-01T1{n}:00:00Z", "customer_id": "c1",
             "currency": "USD", "price": price} for n, price in enumerate(("150.00", "100.00", "50.00"))]
    figures = simulate(load_program(program_file(pending_days=0)), read_history(generic_csv(rows)),
                       redemption_rate=Decimal(0), entry_points=False)
    # 150 + 100 = 250 lifetime points reach vip (200) at once, so the third order earns double:
    # 150 + 100 + 2 x 50 = 350.
    assert figures["points"]["issued"] == 350
    assert figures["tiers"]["end"] == {"member": 0, "vip": 1}
