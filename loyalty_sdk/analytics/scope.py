"""Which books a figure is computed over: one database, one shop, one program."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from attrs import frozen
from sqlalchemy.engine import Connection, Engine

from loyalty_sdk.analytics.period import Period
from loyalty_sdk.core.books import Books
from loyalty_sdk.core.money import Money
from loyalty_sdk.core.program import Program


@frozen
class Scope:
    """A shop's books as analytics reads them. Build one with :func:`scope_of` from a
    ``Loyalty`` facade or its ``Books``."""

    db: Engine
    shop_id: str
    program: Program
    now: datetime

    @property
    def zone(self) -> ZoneInfo:
        return self.program.zone

    @property
    def currency(self) -> str:
        return self.program.program.currency

    @property
    def point_value(self) -> Decimal:
        return self.program.program.point_value

    def money(self, minor: int) -> Money:
        return Money.from_minor(int(minor), self.currency)

    def worth(self, points: int) -> Money:
        """What ``points`` are worth at the program's point value."""
        return Money(Decimal(points) * self.point_value, self.currency).quantized()

    def period(self, period: Period | None) -> Period:
        return period if period is not None else Period.months_to(self.now, self.zone)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        # One connection, one snapshot on PostgreSQL: a report's figures agree with each other.
        with self.db.connect() as conn, conn.begin():
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield conn


def scope_of(source: Any) -> Scope:
    """A Scope from a ``Loyalty`` facade, its ``Books``, or a Scope (returned as is)."""
    if isinstance(source, Scope):
        return source
    books = getattr(source, "books", source)
    if not isinstance(books, Books):
        raise TypeError(f"expected a Loyalty facade or its Books, got {type(source).__name__}")
    return Scope(books.db, books.shop_id, books.program, books.now())


__all__ = ["Scope", "scope_of"]
