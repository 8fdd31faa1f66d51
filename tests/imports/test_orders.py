"""``import_orders``: historical orders for analytics, or earning with ``earn``; twice is once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.models import LineItem, MemberRef, Order
from loyalty_sdk.core.money import Money
from loyalty_sdk.core.storage import admin_audit, non_member_orders
from loyalty_sdk.facade import Loyalty
from loyalty_sdk.imports import import_orders

from .conftest import ledger_size

HISTORY = '''kind,order_id,at,customer_id,email,currency,price,quantity,discount,sku,collections,refund_id,amount
order,A1,2026-01-05T10:00:00Z,c1,,USD,100.00,1,,"MUG, BLUE",,,
order,A1,2026-01-05T10:00:00Z,c1,,USD,20.00,2,5.00,TOTE,,,
order,E1,2026-01-06T10:00:00+01:00,,Ada@Example.com,EUR,30.00,1,,,,,
order,J1,2026-01-06T10:00:00+09:00,c2,,JPY,5000,1,,,,,
order,G1,2026-01-06T11:00:00Z,,,USD,20.00,1,,,,,
order,B1,2026-01-07T10:00:00Z,c2,,USD,"12,50",1,,,,,
refund,A1,2026-01-09T10:00:00Z,,,USD,,,,,,R-1,27.00
refund,A1,2026-01-10T10:00:00Z,,,USD,,,,,,R-2,13.50
refund,J1,2026-01-10T10:00:00Z,,,USD,,,,,,R-3,100.00
refund,G1,2026-01-10T10:00:00Z,,,USD,,,,,,R-4,1.00
'''


@pytest.fixture
def history(write: Callable[[str, str], Path]) -> Path:
    return write("orders.csv", HISTORY)


def test_earn_credits_members_and_takes_refunds_back(loyalty: Loyalty, history: Path) -> None:
    result = import_orders(loyalty, history, "generic", earn=True, actor="ops")
    # A1: 100 + 2 x 20 - 5 = 135 points; E1: 30 (EUR earns at the same rate); J1: 5000 yen = 50.
    assert (result.orders, result.earned, result.points, result.members_enrolled) == (3, 3, 215, 3)
    # R-1 and R-2 give back 40.50 of A1's 135.00: 40 points (30%, then 10%).
    assert (result.refunds, result.points_taken_back) == (2, 40)
    assert loyalty.balance("c1").available == 95
    assert loyalty.balance("ada@example.com").available == 30
    assert loyalty.balance("c2").available == 50
    # G1 names no customer: revenue, but nobody to credit, and nothing for its refund to take back.
    assert (result.guest_orders, result.guest_refunds) == (1, 1)
    assert [(row.line, row.reason) for row in result.bad_rows] == [
        (7, "price '12,50' is not an amount in USD"),            # the decimal comma, quoted
        (10, "refund in USD of order J1 paid in JPY"),           # refunds must be in the order's currency
    ]
    (earn,) = [line for line in loyalty.history("c1") if line.kind == "earn"]
    assert earn.cause["source"] == "import:generic"
    assert loyalty.member("c1").enrolled_at == datetime(2026, 1, 5, 10, tzinfo=UTC)  # at their first order
    assert loyalty.doctor()["ok"]
    with loyalty.books.read() as conn:
        (audit,) = conn.execute(select(admin_audit)).all()
    assert (audit.actor, audit.action, audit.details["earned"]) == ("ops", "import_orders", 3)


def test_importing_twice_changes_nothing_the_second_time(open_loyalty, loyalty_database_url: str,
                                                          history: Path) -> None:
    loyalty = open_loyalty(loyalty_database_url)
    import_orders(loyalty, history, "generic", earn=True)
    size = ledger_size(loyalty)
    again = import_orders(loyalty, history, "generic", earn=True)
    assert (again.earned, again.points, again.already_recorded, again.refunds, again.members_enrolled) == (
        0, 0, 3, 0, 0)
    assert ledger_size(loyalty) == size
    assert loyalty.balance("c1").available == 95


def test_an_order_the_store_already_reported_is_left_alone(loyalty: Loyalty, history: Path) -> None:
    loyalty.enroll("c1", at=datetime(2026, 1, 1, tzinfo=UTC))
    # The live path recorded A1 with what the store knew then (other lines than the export shows).
    live = Order("A1", MemberRef("c1"), datetime(2026, 1, 5, 10, tzinfo=UTC), "USD",
                 [LineItem("9001", 1, Money(Decimal("150.00"), "USD"))])
    assert loyalty.record_order(live).points == 150
    result = import_orders(loyalty, history, "generic", earn=True)
    assert (result.earned, result.already_recorded) == (2, 1)
    # The refunds are the export's own: they take back from what A1 earned when it was reported.
    assert loyalty.balance("c1").available == 150 - result.points_taken_back


def test_without_earn_orders_are_recorded_for_analytics_only(loyalty: Loyalty, history: Path) -> None:
    loyalty.enroll("c2", at=datetime(2026, 1, 1, tzinfo=UTC))  # a member before J1: J1 can only earn
    result = import_orders(loyalty, history, "generic")
    assert (result.analytics_only, result.member_orders_not_recorded, result.earned) == (2, 1, 0)
    with loyalty.books.read() as conn:
        recorded = sorted(row.order_id for row in conn.execute(select(non_member_orders.c.order_id)))
    assert recorded == ["A1", "E1"]
    assert loyalty.balance("c2").available == 0
    again = import_orders(loyalty, history, "generic")
    assert (again.analytics_only, again.already_recorded) == (0, 2)


def test_strict_writes_nothing(loyalty: Loyalty, history: Path) -> None:
    with pytest.raises(InvalidInput, match=r"orders\.csv:7: price '12,50'"):
        import_orders(loyalty, history, "generic", earn=True, strict=True)
    assert ledger_size(loyalty) == (0, 0)
    with pytest.raises(InvalidInput, match="unknown platform 'magento'"):
        import_orders(loyalty, history, "magento")
