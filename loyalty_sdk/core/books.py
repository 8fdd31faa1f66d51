"""The context every ledger operation runs in: one database, one shop, one program."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection, Engine

from loyalty_sdk.core.engine import Engine as RuleEngine
from loyalty_sdk.core.ledger import Raw, utc
from loyalty_sdk.core.plugin_host import PluginHost
from loyalty_sdk.core.program import Program
from loyalty_sdk.core.storage import shops


def system_clock() -> datetime:
    return datetime.now(UTC)


class Books:
    """A shop's books: where to write, which program computes, and what time it is."""

    def __init__(self, db: Engine, shop_id: str, program: Program, host: PluginHost,
                 clock: Callable[[], datetime] = system_clock) -> None:
        self.db = db
        self.shop_id = shop_id
        self.program = program
        self.host = host
        self.rules = RuleEngine(program, host)
        self.clock = clock
        self._writer = db.execution_options(loyalty_write=True)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: BEGIN IMMEDIATE on SQLite, row locks on PostgreSQL."""
        with self._writer.begin() as conn:
            yield conn

    @contextmanager
    def raw(self) -> Iterator[Raw]:
        """The hot path's connection: a pooled driver connection without SQLAlchemy's
        per-statement layers, in autocommit mode; ``raw.transaction()`` opens a write."""
        pooled = self.db.raw_connection()
        raw = Raw(pooled.driver_connection, self.db.dialect.name == "postgresql")
        if raw.postgres:
            raw.connection.autocommit = True  # a lone statement commits itself: one round trip
        try:
            yield raw
        finally:
            if raw.postgres:
                raw.connection.autocommit = False  # as SQLAlchemy's pool expects it back
            pooled.close()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.db.connect() as conn:
            yield conn

    def now(self) -> datetime:
        return self.clock()

    def ensure_shop(self, platform: str = "custom") -> None:
        with self.write() as conn:
            if conn.execute(select(shops.c.id).where(shops.c.id == self.shop_id)).first() is None:
                info = self.program.program
                conn.execute(insert(shops), {
                    "id": self.shop_id, "platform": platform, "currency": info.currency,
                    "timezone": info.timezone, "created_at": utc(self.now()), "settings": {},
                })
