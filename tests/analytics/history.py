"""A small store's history, built by hand, whose every figure the tests work out on paper.

The period under test is January to May 2026, [2026-01-01, 2026-06-01) UTC; the books are read
on 2026-06-15. One point per whole dollar, available at once, lots expire after 60 days, a
point is worth $0.01; bronze from 0 points, silver from 100 (lifetime). A "double points"
campaign runs through April (2x on every line).

members (enrolled)       orders as members                          other events
  E  2025-12-01          e0 2025-12-05 $10                          nothing in the period: churns
  F  2025-11-01          f0 2025-12-10 $30, f1 2026-01-15 $15,
                         f2 2026-03-25 $40
  A  2026-01-05          a1 2026-01-10 $120, a2 2026-02-10 $30,     coffee (100) 2026-03-01,
                         a3 2026-04-10 $20 (campaign)               +10 adjustment 2026-05-01
  B  2026-01-20          b1 2026-01-25 $40                          40 expire 2026-03-26
  C  2026-02-15          c1 2026-02-20 $60 (refunded 02-25),        c0 2026-02-01 $25 backfilled
                         c2 2026-03-05 $10 (cancelled 03-06),       (placed before enrolling)
                         c3 2026-04-15 $100 (campaign)
  D  2026-03-10          d1 2026-03-12 $80, d2 2026-03-20 $20       review (50) 2026-03-15

non-member orders: g 2026-01-07 $20 and 2026-02-07 $20; h@example.com 2026-03-03 $50;
i 2025-12-20 $10; C (by customer id) 2026-01-30 $5, before enrolling.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from typing import Any

from loyalty_sdk.analytics import Period
from loyalty_sdk.core.models import Activity, Cancellation, LineItem, MemberRef, Order, Refund
from loyalty_sdk.core.money import Money
from loyalty_sdk.facade import Loyalty

PERIOD = Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))
NOW = datetime(2026, 6, 15, tzinfo=UTC)

PROGRAM_TOML = """
[program]
name = "Analytics Store"
currency = "USD"
timezone = "UTC"
point_value = "0.01"

[earn]
points_per_unit = 1
rounding = "floor"
pending_days = 0

[tiers]
metric = "points"
window = "lifetime"
levels = [{ id = "bronze", threshold = 0 }, { id = "silver", threshold = 100 }]

[expiry]
mode = "lot"
days = 60
reminder_days = []

[clawback]
spent_points = "negative"
max_negative = 1000

[[activities]]
kind = "review"
points = 50

[[campaigns]]
id = "double"
name = "Double points"
multiplier = "2"
starts = 2026-04-01
ends = 2026-04-30

[[rewards]]
id = "coffee"
name = "Free coffee"
kind = "free_product"
points = 100
product_id = "coffee"
value = "3.00"
"""
PROGRAM: dict[str, Any] = tomllib.loads(PROGRAM_TOML)


def at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def order(order_id: str, customer: str, when: datetime, dollars: str) -> Order:
    line = LineItem(line_id="l1", quantity=1, unit_price=Money(dollars, "USD"), product_id="beans")
    return Order(order_id=order_id, member=MemberRef.parse(customer), placed_at=when, currency="USD", lines=[line])


def build(loyalty: Loyalty, clock: Any) -> None:
    """Replay the history above in the order it happened, the clock following it."""
    def now(moment: datetime) -> None:
        clock.now = moment

    def enroll(customer: str, when: datetime) -> None:
        now(when)
        loyalty.enroll(customer, at=when)

    def buy(order_id: str, customer: str, when: datetime, dollars: str) -> None:
        now(when)
        loyalty.record_order(order(order_id, customer, when, dollars))

    def outside(order_id: str, customer: str, when: datetime, dollars: str) -> None:
        now(when)
        assert loyalty.record_non_member_order(order(order_id, customer, when, dollars))

    enroll("F", at(2025, 11, 1))
    enroll("E", at(2025, 12, 1))
    buy("e0", "E", at(2025, 12, 5), "10.00")
    buy("f0", "F", at(2025, 12, 10), "30.00")
    outside("i1", "i", at(2025, 12, 20), "10.00")
    enroll("A", at(2026, 1, 5))
    outside("g1", "g", at(2026, 1, 7), "20.00")
    buy("a1", "A", at(2026, 1, 10), "120.00")
    buy("f1", "F", at(2026, 1, 15), "15.00")
    enroll("B", at(2026, 1, 20))
    buy("b1", "B", at(2026, 1, 25), "40.00")
    outside("cx", "C", at(2026, 1, 30), "5.00")
    buy("a2", "A", at(2026, 2, 10), "30.00")
    outside("g2", "g", at(2026, 2, 7), "20.00")
    enroll("C", at(2026, 2, 15))
    buy("c0", "C", at(2026, 2, 1), "25.00")  # backfilled: placed before C enrolled
    buy("c1", "C", at(2026, 2, 20), "60.00")
    now(at(2026, 2, 25))
    loyalty.record_refund(Refund(refund_id="r1", order_id="c1", refunded_at=at(2026, 2, 25), lines=[],
                                 amount=Money("60.00", "USD")))
    now(at(2026, 3, 1))
    loyalty.redeem("A", "coffee")
    outside("h1", "h@example.com", at(2026, 3, 3), "50.00")
    buy("c2", "C", at(2026, 3, 5), "10.00")
    now(at(2026, 3, 6))
    loyalty.record_cancellation(Cancellation(order_id="c2", cancelled_at=at(2026, 3, 6)))
    enroll("D", at(2026, 3, 10))
    buy("d1", "D", at(2026, 3, 12), "80.00")
    now(at(2026, 3, 15))
    loyalty.record_activity(Activity(kind="review", member=MemberRef.parse("D"), occurred_at=at(2026, 3, 15)))
    buy("d2", "D", at(2026, 3, 20), "20.00")
    buy("f2", "F", at(2026, 3, 25), "40.00")
    now(at(2026, 4, 1))
    loyalty.run_jobs(at(2026, 4, 1))
    buy("a3", "A", at(2026, 4, 10), "20.00")
    buy("c3", "C", at(2026, 4, 15), "100.00")
    now(at(2026, 5, 1))
    loyalty.adjust("A", 10, "goodwill")
    now(NOW)


__all__ = ["NOW", "PERIOD", "PROGRAM", "PROGRAM_TOML", "at", "build"]
