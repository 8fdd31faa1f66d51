"""Builders for the segment tests: a program with round numbers (1 point per dollar, points
available at once, tiers at 500 and 1500 points a calendar year, lots expiring after 180 days)
and orders placed some days before the test clock's now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from loyalty_sdk.core.models import LineItem, MemberRef, Order
from loyalty_sdk.core.money import Money
from loyalty_sdk.facade import Loyalty

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)

PROGRAM: dict[str, Any] = {
    "program": {"name": "Test Rewards", "currency": "USD", "timezone": "UTC"},
    "earn": {"points_per_unit": 1, "rounding": "floor", "pending_days": 0},
    "tiers": {"metric": "points", "window": "calendar_year",
              "levels": [{"id": "bronze", "threshold": 0}, {"id": "silver", "threshold": 500},
                         {"id": "gold", "threshold": 1500}]},
    "expiry": {"mode": "lot", "days": 180, "reminder_days": [30, 7]},
    "activities": [{"kind": "birthday", "points": 200, "per_year": 1}],
    "rewards": [{"id": "5-off", "name": "$5 off", "kind": "fixed_amount", "points": 500, "value": "5.00"}],
}

PROGRAM_TOML = """
[program]
name = "Test Rewards"
currency = "USD"
timezone = "UTC"

[earn]
points_per_unit = 1
pending_days = 0

[tiers]
metric = "points"
window = "calendar_year"

[[tiers.levels]]
id = "bronze"
threshold = 0

[[tiers.levels]]
id = "silver"
threshold = 500

[[tiers.levels]]
id = "gold"
threshold = 1500

[expiry]
mode = "lot"
days = 180
"""


def buy(loyalty: Loyalty, customer: str, dollars: int, days_ago: float, order_id: str | None = None) -> None:
    """``customer`` (enrolled on first sight) pays ``dollars`` ``days_ago`` days before now."""
    try:
        loyalty.member(customer)
    except LookupError:
        loyalty.enroll(customer, email=f"{customer}@example.com", name=customer.upper())
    at = loyalty.books.now() - timedelta(days=days_ago)
    order_id = order_id or f"{customer}-{days_ago}"
    loyalty.record_order(Order(order_id=order_id, member=MemberRef(customer_id=customer), placed_at=at,
                               currency="USD", lines=(LineItem(line_id="l1", quantity=1, unit_price=Money(f"{dollars}.00", "USD"),
                                                        product_id="p1"),)))


def customers(result: Any) -> list[str | None]:
    """The customer ids in an export, in its order (by member id)."""
    return [row["customer_id"] for row in result.members]
