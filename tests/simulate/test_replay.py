"""Simulated books against hand-computed small histories, and against the live engine."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.program import load_program
from loyalty_sdk.simulate import plan, read_history, redeem, replayed, simulate


def test_small_history_by_hand(program_file, generic_csv, small_history) -> None:
    history = read_history(generic_csv(small_history))
    figures = simulate(load_program(program_file()), history, redemption_rate=Decimal("0.5"))
    # Points (1 per dollar, available at once):
    #   O1 c1 150.00 at member -> 150; O4 c2 2 x 40.00 -> 80; O2 c1 100.00 -> 100, lifetime 250 >= 200: vip
    #   O3 c1 50.00 at vip (x2) -> 100. Issued 150 + 80 + 100 + 100 = 430.
    #   R1 refunds 40.00 of O4's 80.00 -> 80 * 40 / 80 = 40 clawed back.
    # Redeemed at 0.5: c1 floor(0.5 * 350) = 175, c2 floor(0.5 * (80 - 40)) = 20 -> 195.
    # Nothing expires by 2026-01-06 (lots last 30 days): outstanding 430 - 40 - 195 = 195.
    assert figures["points"] == {"issued": 430, "clawed_back": 40, "redeemed": 195, "expired": 0,
                                 "outstanding": 195}
    # Revenue 150 + 80 + 100 + 50 - 40 = 340.00; 195 points at 0.01 = 1.95; 1.95 / 340 = 0.005735...
    assert figures["revenue"] == {"amount": "340.00", "currency": "USD"}
    assert figures["liability"] == {"amount": "1.95", "currency": "USD", "share_of_revenue": "0.0057"}
    assert figures["discount_cost"] == {"amount": "1.95", "currency": "USD", "share_of_revenue": "0.0057"}
    assert figures["tiers"]["end"] == {"member": 1, "vip": 1}
    assert figures["tiers"]["crossed"] == {"vip": 1}
    assert [(c["customer"], c["points"], c["value"]["amount"]) for c in figures["top_customers"]] == [
        ("c1", 350, "3.50"), ("c2", 40, "0.40")]
    assert (figures["members"], figures["orders"], figures["refunds"]) == (2, 4, 1)


def test_expiry_and_monthly_tiers_by_hand(program_file, generic_csv, small_history) -> None:
    history = read_history(generic_csv(small_history))
    end = datetime(2026, 2, 15, tzinfo=UTC)
    figures = simulate(load_program(program_file()), history, redemption_rate=Decimal("0.5"), end=end)
    # Every lot expires 30 days after it was earned (O1 and O4's rest on 2026-01-31, O2 on 02-01,
    # O3 on 02-02), all before 02-15: the ledger expires c1's 350 and c2's 40.
    # Members spend first, oldest first: c1 redeems 175 and loses 350 - 175 = 175; c2 redeems
    # 20 and loses 40 - 20 = 20. Expired 195, outstanding 390 - 195 - 195 = 0.
    assert figures["points"] == {"issued": 430, "clawed_back": 40, "redeemed": 195, "expired": 195,
                                 "outstanding": 0}
    assert figures["liability"]["amount"] == "0.00"
    # The jobs at 2026-02-01 00:00 count January's members per tier.
    assert figures["tiers"]["monthly"] == [{"month": "2026-01", "tiers": {"member": 1, "vip": 1}}]


def test_from_leaves_out_earlier_orders_and_their_refunds(program_file, generic_csv, small_history) -> None:
    for number, day in enumerate(("01", "04")):  # guest orders (no customer) of 20.00 each
        small_history.append({"kind": "order", "order_id": f"G{number}", "at": f"2026-01-{day}T10:00:00Z",
                              "currency": "USD", "price": "20.00"})
    history = read_history(generic_csv(small_history))
    start = datetime(2026, 1, 2, tzinfo=UTC)
    figures = simulate(load_program(program_file()), history, redemption_rate=Decimal(0), start=start)
    # Only O2 (100) and O3 (100 < 200 lifetime, so no vip: 50) remain; R1's order O4 is out.
    assert figures["points"] == {"issued": 150, "clawed_back": 0, "redeemed": 0, "expired": 0, "outstanding": 150}
    # 100.00 + 50.00 + the guest order of 01-04 (20.00); the one of 01-01 is before --from.
    assert figures["revenue"]["amount"] == "170.00"
    assert figures["tiers"]["crossed"] == {"vip": 0}


@pytest.mark.parametrize(("earned", "expired", "rate", "expected"), [
    (350, 0, "0.5", (175, 0)),
    (350, 350, "0.5", (175, 175)),
    (101, 10, "0.6", (60, 0)),     # floor(60.6) = 60 spent, which covers the 10 that lapsed
    (0, 0, "1", (0, 0)),
    (-5, 0, "0.6", (0, 0)),        # a member clawed back below zero spends nothing
])
def test_redemption_assumption(earned: int, expired: int, rate: str, expected: tuple[int, int]) -> None:
    assert redeem(earned, expired, Decimal(rate)) == expected


def test_rate_must_be_a_share(program_file, generic_csv, small_history) -> None:
    history = read_history(generic_csv(small_history))
    with pytest.raises(InvalidInput, match="between 0 and 1"):
        simulate(load_program(program_file()), history, redemption_rate=Decimal("1.5"))


def _random_history(seed: int) -> list[dict[str, str]]:
    """Nine customers, 120 orders over 80 days, a refund on every seventh order."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, 8, tzinfo=UTC)
    rows = []
    for number in range(120):
        at = start + timedelta(minutes=rng.randrange(80 * 24 * 60))
        order_id, customer = f"N{number}", f"c{rng.randrange(9)}"
        for _line in range(rng.randint(1, 3)):
            rows.append({"kind": "order", "order_id": order_id, "at": at.isoformat(), "customer_id": customer,
                         "currency": "USD", "price": f"{rng.randint(5, 90)}.{rng.randint(0, 99):02d}",
                         "quantity": str(rng.randint(1, 3))})
        if number % 7 == 0:
            later = at + timedelta(days=rng.randint(1, 20))
            rows.append({"kind": "refund", "order_id": order_id, "at": later.isoformat(), "currency": "USD",
                         "amount": "12.50"})
    return rows


def test_simulation_matches_the_live_engine(program_file, generic_csv, loyalty_at, clock) -> None:
    # Points pending for 14 days, lots expiring after 30, tiers: every job matters.
    program = load_program(program_file(pending_days=14))
    history = read_history(generic_csv(_random_history(5)))
    events = plan(history)
    live = loyalty_at(program=program)
    for event in events:
        clock.now = event.at
        if event.kind == "enroll":
            for ref, at in event.data:
                live.enroll(ref.customer_id, email=ref.email, at=at)
        elif event.kind == "order":
            live.record_order(event.data)
        elif event.kind == "refund":
            live.record_refund(event.data)
        elif event.kind == "jobs":
            live.run_jobs(as_of=event.at)
    with replayed(program, history, entry_points=False) as (simulated, replay, _events):
        customers = sorted({order.member.customer_id for order in history.orders})
        assert len(customers) == 9 and replay.counts["refunds"] > 0
        for customer in customers:
            assert simulated.balance(customer) == live.balance(customer), customer
        assert simulated.summary()["points"] == live.summary()["points"]
        assert simulated.doctor()["ok"]
