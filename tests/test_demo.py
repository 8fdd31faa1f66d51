from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest

from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.program import load_program
from loyalty_sdk.demo import DEMO_DAYS, DEMO_START, DemoClock, open_demo, plan, run_demo
from loyalty_sdk.facade import Loyalty

PROGRAM = load_program(None)


def test_the_plan_is_a_pure_function_of_the_seed() -> None:
    first, _ = plan(30, 200, 7, PROGRAM)
    again, _ = plan(30, 200, 7, PROGRAM)
    other, _ = plan(30, 200, 8, PROGRAM)
    assert first == again
    assert first != other


def test_the_plan_is_in_time_order_within_the_year() -> None:
    events, _ = plan(40, 300, 1, PROGRAM)
    assert events == sorted(events)
    end = DEMO_START + timedelta(days=DEMO_DAYS)
    assert all(DEMO_START <= event.at <= end for event in events)
    kinds = Counter(event.kind for event in events)
    assert kinds["jobs"] == DEMO_DAYS  # one nightly run per simulated day
    assert kinds["enroll"] == 40
    assert kinds["order"] == 300
    assert kinds["refund"] > 0 and kinds["cancel"] > 0 and kinds["redeem"] > 0


def test_members_enroll_before_anything_else_happens_to_them() -> None:
    events, _ = plan(40, 300, 3, PROGRAM)
    enrolled: set[str] = set()
    for event in events:
        if event.kind == "enroll":
            enrolled.add(event.data.customer_id)
        elif event.kind in ("order", "activity"):
            assert event.data.member.customer_id in enrolled


def test_orders_mix_coffee_discounts_and_gift_cards() -> None:
    events, _ = plan(100, 2000, 5, PROGRAM)
    orders = [event.data for event in events if event.kind == "order"]
    lines = [line for order in orders for line in order.lines]
    assert {len(order.lines) for order in orders} >= {1, 2, 3, 4}
    assert any("coffee" in line.collections for line in lines)
    assert any(line.gift_card for line in lines)
    assert any(line.discount is not None for line in lines)
    assert any(order.order_discount is not None for order in orders)
    assert all(isinstance(line.unit_price.amount, Decimal) for line in lines)
    # Repeat buyers: a few customers place many orders.
    per_customer = Counter(order.member.customer_id for order in orders)
    assert max(per_customer.values()) >= 5 * (len(orders) / len(per_customer))


def test_run_demo_needs_the_demo_clock(tmp_path) -> None:
    with Loyalty(f"sqlite:///{tmp_path}/plain.db", entry_points=False) as loyalty:
        with pytest.raises(InvalidInput, match="open_demo"):
            run_demo(loyalty, customers=1, orders=1)


def test_open_demo_leaves_a_shop_with_data_alone(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/demo.db"
    with Loyalty(url, shop="demo", entry_points=False) as loyalty:
        loyalty.enroll("someone")
    with open_demo(url, entry_points=False) as loyalty:
        assert loyalty.shop_id == "demo-2"
        assert isinstance(loyalty.books.clock, DemoClock)
    with open_demo(url, entry_points=False, fresh=False) as loyalty:
        assert loyalty.shop_id == "demo"


def test_a_small_year_balances_and_reports_the_stable_keys(tmp_path) -> None:
    seen: list[tuple[int, int]] = []
    with open_demo(f"sqlite:///{tmp_path}/demo.db", entry_points=False) as loyalty:
        books = run_demo(loyalty, customers=15, orders=80, seed=3, progress=lambda *step: seen.append(step))
        assert loyalty.books.clock() == DEMO_START + timedelta(days=DEMO_DAYS)  # the clock ended the year
    assert {"members", "orders", "points", "liability", "tiers", "doctor", "seed"} <= set(books)
    assert {"issued", "redeemed", "expired", "clawed_back", "adjusted", "outstanding"} <= set(books["points"])
    assert books["members"] == 15 and books["orders"] == 80 and books["seed"] == 3
    assert books["doctor"]["ok"], books["doctor"]
    assert "elapsed_seconds" not in books  # wall time would break comparing runs
    assert seen[-1] == (80, 80)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
