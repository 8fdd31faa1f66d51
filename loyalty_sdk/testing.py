"""A pytest plugin for rule writers (loaded automatically once loyalty-sdk is installed).

Fixtures:

- ``loyalty``: a :class:`~loyalty_sdk.Loyalty` on an in-memory SQLite ledger with the default
  program, no entry-point plugins, and a clock you can move (``loyalty_clock``).
- ``loyalty_clock``: a settable clock; ``loyalty_clock.now`` is a timezone-aware datetime and
  ``loyalty_clock.advance(days=14)`` moves it.
- ``register_plugin``: ``register_plugin(module_or_object)`` registers your plugin on the
  ``loyalty`` fixture's engine and unregisters it after the test.
- ``make_order``: ``make_order("1001", customer="c1", lines=[("mug", "12.50", 2)])`` builds an
  Order in the program's currency at the clock's time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from loyalty_sdk.core.models import LineItem, MemberRef, Order
from loyalty_sdk.core.money import Money


class Clock:
    """A clock a test controls."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now


@pytest.fixture
def loyalty_clock() -> Clock:
    return Clock(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))


@pytest.fixture
def loyalty_program() -> Any:
    """The program the ``loyalty`` fixture uses; override it in your conftest."""
    return None


@pytest.fixture
def loyalty(loyalty_clock: Clock, loyalty_program: Any) -> Iterator[Any]:
    from loyalty_sdk.facade import Loyalty

    with Loyalty("sqlite://", loyalty_program, clock=loyalty_clock, entry_points=False) as instance:
        yield instance


@pytest.fixture
def register_plugin(loyalty: Any) -> Iterator[Any]:
    registered: list[object] = []

    def register(plugin: object, name: str | None = None) -> object:
        loyalty.host.register(plugin, name=name)
        registered.append(plugin)
        return plugin

    yield register
    for plugin in registered:
        loyalty.host.unregister(plugin)


@pytest.fixture
def make_order(loyalty: Any, loyalty_clock: Clock) -> Any:
    def build(order_id: str, *, customer: str = "c1", lines: Sequence[tuple[str, str, int]] = (("item", "10.00", 1),),
              currency: str | None = None, collections: dict[str, set[str]] | None = None,
              at: datetime | None = None, discount: str | None = None) -> Order:
        currency = currency or loyalty.program.program.currency
        collections = collections or {}
        return Order(
            order_id=order_id,
            member=MemberRef.parse(customer),
            placed_at=at or loyalty_clock.now,
            currency=currency,
            lines=[
                LineItem(line_id=name, product_id=name, quantity=qty, unit_price=Money(Decimal(price), currency),
                         collections=frozenset(collections.get(name, ())))
                for name, price, qty in lines
            ],
            order_discount=Money(Decimal(discount), currency) if discount else None,
        )

    return build


__all__ = ["Clock"]
