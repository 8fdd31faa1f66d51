"""A program with tiers and lot expiry, a Loyalty on SQLite (or, for the tests that take
``loyalty_database_url``, on PostgreSQL too), and files written for each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from loyalty_sdk.core.storage import members, transactions
from loyalty_sdk.facade import Loyalty
from loyalty_sdk.testing import Clock

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
PROGRAM: dict[str, Any] = {
    "program": {"name": "Import test", "currency": "USD", "timezone": "UTC"},
    "earn": {"points_per_unit": 1, "rounding": "floor", "pending_days": 0, "rates": {"JPY": "0.01"}},
    "expiry": {"mode": "lot", "days": 365, "reminder_days": []},
    "clawback": {"spent_points": "negative", "max_negative": 1000},
    "tiers": {"metric": "points", "window": "calendar_year", "levels": [
        {"id": "member", "threshold": 0}, {"id": "silver", "name": "Silver", "threshold": 500},
        {"id": "gold", "name": "Gold VIP", "threshold": 2000}]},
}
"""A point per dollar (a hundred yen), available at once, lots that expire after a year, and
tiers by points earned in the calendar year."""


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def open_loyalty(clock: Clock) -> Iterator[Callable[[str], Loyalty]]:
    opened: list[Loyalty] = []

    def build(url: str) -> Loyalty:
        loyalty = Loyalty(url, PROGRAM, clock=clock, entry_points=False)
        opened.append(loyalty)
        return loyalty

    yield build
    for loyalty in opened:
        loyalty.close()


@pytest.fixture
def loyalty(open_loyalty: Callable[[str], Loyalty], tmp_path: Path) -> Loyalty:
    """The books on SQLite."""
    return open_loyalty(f"sqlite:///{tmp_path}/loyalty.db")


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    def make(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return make


def ledger_size(loyalty: Loyalty) -> tuple[int, int]:
    """(members, transactions) of the shop: what an import that changes nothing leaves alone."""
    with loyalty.books.read() as conn:
        count = conn.execute(select(func.count()).select_from(members).where(
            members.c.shop_id == loyalty.shop_id)).scalar_one()
        txns = conn.execute(select(func.count()).select_from(transactions).where(
            transactions.c.shop_id == loyalty.shop_id)).scalar_one()
    return count, txns
