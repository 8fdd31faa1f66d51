"""Builders shared by the core tests: a small program with round numbers, orders, refunds, and a
snapshot of everything a posting could change (to prove that a rejection posted nothing)."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from loyalty_sdk.core.models import Cancellation, LineItem, MemberRef, Order, Refund, RefundLine
from loyalty_sdk.core.money import Money
from loyalty_sdk.core.storage import entries, lot_draws, lots, outbox, redemptions, tier_changes, transactions
from loyalty_sdk.facade import Loyalty

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)

PROGRAM: dict[str, Any] = {
    "program": {"name": "Test Rewards", "currency": "USD", "timezone": "UTC", "point_value": "0.01"},
    # 1 point per whole dollar, floored once per order; points wait out a 14-day return window.
    "earn": {"points_per_unit": 1, "rounding": "floor", "pending_days": 14},
    "tiers": {
        "metric": "points",
        "window": "calendar_year",
        "grace_days": 30,
        # Multipliers of 1 keep the arithmetic of ledger tests to "1 point per dollar".
        "levels": [
            {"id": "bronze", "threshold": 0},
            {"id": "silver", "threshold": 500},
            {"id": "gold", "threshold": 1500},
        ],
    },
    "expiry": {"mode": "lot", "days": 180, "reminder_days": [30, 7]},
    "clawback": {"spent_points": "negative", "max_negative": 1000},
    "activities": [
        {"kind": "signup", "points": 100, "per_lifetime": 1},
        {"kind": "review", "points": 50, "per_day": 1, "per_lifetime": 3},
        {"kind": "birthday", "points": 200, "per_year": 1},
    ],
    "rewards": [
        {"id": "5-off", "name": "$5 off", "kind": "fixed_amount", "points": 500, "value": "5.00"},
        {"id": "coffee", "name": "Free coffee", "kind": "free_product", "points": 100, "product_id": "coffee",
         "value": "3.00"},
        {"id": "tote", "name": "Gold tote bag", "kind": "free_product", "points": 200, "product_id": "tote",
         "value": "20.00", "tiers": ["gold"]},
        {"id": "ship-once", "name": "Free shipping (once)", "kind": "free_shipping", "points": 50,
         "limit_per_member": 1},
        {"id": "pay", "name": "Pay with points", "kind": "points_as_money", "min_points": 100, "max_points": 5000,
         "step": 100},
    ],
}


def base_program(**sections: Any) -> dict[str, Any]:
    """The test program with some sections changed: a mapping updates the section, anything
    else (a list) replaces it."""
    data = copy.deepcopy(PROGRAM)
    for name, value in sections.items():
        if isinstance(value, Mapping) and isinstance(data.get(name), dict):
            data[name] = {**data[name], **value}
        else:
            data[name] = value
    return data


def line(line_id: str, price: str, quantity: int = 1, currency: str = "USD", **extra: Any) -> LineItem:
    return LineItem(line_id=line_id, quantity=quantity, unit_price=Money(price, currency), product_id=line_id, **extra)


def order(
    order_id: str,
    lines: Iterable[tuple[str, str, int] | LineItem] = (("a", "10.00", 1),),
    *,
    customer: str = "c1",
    at: datetime = T0,
    currency: str = "USD",
    **extra: Any,
) -> Order:
    """``order("o1", [("a", "10.00", 3)])``: line id, unit price (a string), quantity."""
    built = [item if isinstance(item, LineItem) else line(*item, currency=currency) for item in lines]
    return Order(order_id=order_id, member=MemberRef.parse(customer), placed_at=at, currency=currency, lines=built,
                 **extra)


def refund(
    refund_id: str,
    order_id: str,
    at: datetime,
    quantities: Mapping[str, int] | None = None,
    *,
    amount: str | None = None,
    currency: str = "USD",
) -> Refund:
    """A refund of ``quantities`` units per line, or of a merchandise ``amount``."""
    lines = [RefundLine(line_id, quantity) for line_id, quantity in (quantities or {}).items()]
    return Refund(refund_id=refund_id, order_id=order_id, refunded_at=at, lines=lines,
                  amount=Money(amount, currency) if amount is not None else None)


def cancellation(order_id: str, at: datetime) -> Cancellation:
    return Cancellation(order_id=order_id, cancelled_at=at)


def spent_member(loyalty: Loyalty) -> None:
    """Member c1 earns 100 points at once (needs pending_days = 0) and spends them on "coffee"."""
    loyalty.enroll("c1")
    loyalty.record_order(order("o1", [("a", "100.00", 1)]))
    loyalty.redeem("c1", "coffee")


def count_rows(loyalty: Loyalty, table: Any) -> int:
    with loyalty.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def snapshot(loyalty: Loyalty, *refs: str) -> dict[str, Any]:
    """Everything a posting could change, to compare before and after a rejected call."""
    state: dict[str, Any] = {"summary": loyalty.summary()}
    for table in (transactions, entries, lots, lot_draws, redemptions, tier_changes, outbox):
        state[table.name] = count_rows(loyalty, table)
    with loyalty.db.connect() as conn:
        state["lot_remaining"] = conn.execute(select(func.coalesce(func.sum(lots.c.remaining), 0))).scalar_one()
    for ref in refs:
        state[f"balance:{ref}"] = loyalty.balance(ref)
    return state


def assert_books_ok(loyalty: Loyalty) -> None:
    report = loyalty.doctor()
    problems = {name: check["problems"] for name, check in report["checks"].items() if not check["ok"]}
    assert report["ok"], f"doctor found problems: {problems}"


__all__ = [
    "PROGRAM",
    "T0",
    "assert_books_ok",
    "base_program",
    "cancellation",
    "count_rows",
    "line",
    "order",
    "refund",
    "snapshot",
]
