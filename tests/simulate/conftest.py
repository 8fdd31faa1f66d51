from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from loyalty_sdk.simulate import GENERIC_COLUMNS

# The defaults (USD, UTC, a point worth 0.01, rounding down) with one point per dollar, lots
# that expire after 30 days, and a vip tier from 200 lifetime points that earns double.
PLAIN = """
[program]
name = "Plain"

[earn]
pending_days = {pending_days}

[expiry]
mode = "lot"
days = 30
reminder_days = []

[tiers]
window = "lifetime"
levels = [{{ id = "member", threshold = 0 }}, {{ id = "vip", threshold = 200, multiplier = "2" }}]
"""

# The hand-computed history of test_replay.py: four orders of two customers and one refund.
SMALL_HISTORY = [
    {"kind": "order", "order_id": "O1", "at": "2026-01-01T10:00:00Z", "customer_id": "c1", "currency": "USD",
     "price": "150.00"},
    {"kind": "order", "order_id": "O4", "at": "2026-01-01T12:00:00Z", "customer_id": "c2", "currency": "USD",
     "price": "40.00", "quantity": "2"},
    {"kind": "order", "order_id": "O2", "at": "2026-01-02T10:00:00Z", "customer_id": "c1", "currency": "USD",
     "price": "100.00"},
    {"kind": "order", "order_id": "O3", "at": "2026-01-03T10:00:00Z", "customer_id": "c1", "currency": "USD",
     "price": "50.00"},
    {"kind": "refund", "order_id": "O4", "at": "2026-01-05T09:00:00Z", "currency": "USD", "amount": "40.00",
     "refund_id": "R1"},
]


@pytest.fixture
def small_history() -> list[dict[str, str]]:
    return [dict(row) for row in SMALL_HISTORY]


@pytest.fixture
def program_file(tmp_path: Path) -> Callable[..., Path]:
    def write(name: str = "plain", pending_days: int = 0, text: str | None = None) -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(text if text is not None else PLAIN.format(pending_days=pending_days), encoding="utf-8")
        return path

    return write


@pytest.fixture
def generic_csv(tmp_path: Path) -> Callable[[list[dict[str, Any]]], Path]:
    def write(rows: list[dict[str, Any]], name: str = "orders.csv") -> Path:
        path = tmp_path / name
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, GENERIC_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        return path

    return write
