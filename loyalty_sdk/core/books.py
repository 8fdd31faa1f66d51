"""The context every ledger operation runs in: one database, one shop, one program."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection, Engine

from loyalty_sdk.core.engine import Engine as RuleEngine
from loyalty_sdk.core.ledger import Raw, utc
from loyalty_sdk.core.plugin_host import PluginHost
from loyalty_sdk.core.program import Program
from loyalty_sdk.core.storage import shops


class _Held:
    """A pool connection the hot path keeps for one thread."""

    __slots__ = ("busy", "pooled", "raw")

    def __init__(self, pooled: Any, raw: Raw) -> None:
        self.pooled = pooled
        self.raw = raw
        self.busy = False


def _broken(raw: Raw) -> bool:
    if raw.postgres:
        return bool(raw.connection.closed or raw.connection.broken)
    return False


def system_clock() -> datetime:
    return datetime.now(UTC)


class HotConnections:
    """The hot path's driver connections for one database, shared by every shop's books.

    Each thread keeps one connection checked out of the pool for as long as the database is
    open (up to half the pool's size), so an order pays no pool checkout and return (tens of
    microseconds). A nested use, a thread beyond that limit, or a use after the connection
    broke takes a connection from the pool for the duration."""

    def __init__(self, db: Engine) -> None:
        self.db = db
        self._local = threading.local()
        self._held: list[_Held] = []
        self._lock = threading.Lock()
        # Held connections never come back to the pool while the database is open: keep them to
        # half of it, so threads beyond that (a server's thread pool) still find connections
        # for their writes and reads, and simply check one out per use.
        size = getattr(db.pool, "size", None)
        self._hold_limit = max(1, size() // 2) if callable(size) else 1

    @contextmanager
    def use(self) -> Iterator[Raw]:
        held: _Held | None = getattr(self._local, "held", None)
        if held is not None and not held.busy and _broken(held.raw):
            self._release(held, invalidate=True)  # let the pool forget it; take a fresh one below
            held = None
        own = None
        if held is None:
            own = self._checkout()
            if self._keep(own):
                held, own = own, None
        if held is not None and not held.busy:
            held.busy = True
            try:
                yield held.raw
            finally:
                held.busy = False
            return
        if own is None:  # nested inside this thread's use: a connection of its own
            own = self._checkout()
        try:
            yield own.raw
        finally:
            self._release(own, invalidate=False)

    def _checkout(self) -> _Held:
        pooled = self.db.raw_connection()
        raw = Raw(pooled.driver_connection, self.db.dialect.name == "postgresql")
        if raw.postgres:
            raw.connection.autocommit = True  # a lone statement commits itself: one round trip
        return _Held(pooled, raw)

    def _keep(self, fresh: _Held) -> bool:
        """Keep ``fresh`` for this thread, unless the limit is already held."""
        with self._lock:
            if len(self._held) >= self._hold_limit:
                return False
            self._held.append(fresh)
        self._local.held = fresh
        return True

    def _release(self, held: _Held, *, invalidate: bool) -> None:
        with self._lock:
            if held in self._held:
                self._held.remove(held)
        if getattr(self._local, "held", None) is held:
            self._local.held = None
        if invalidate:
            held.pooled.invalidate()
            return
        if held.raw.postgres and not held.raw.connection.closed:
            held.raw.connection.autocommit = False  # as SQLAlchemy's pool expects it back
        held.pooled.close()

    def close(self) -> None:
        """Return the held connections to the pool (before the engine is disposed)."""
        for held in list(self._held):
            if not held.busy:
                self._release(held, invalidate=False)


class Books:
    """A shop's books: where to write, which program computes, and what time it is.

    Books of several shops on one database share its ``HotConnections``; the books that
    created them close them."""

    def __init__(self, db: Engine, shop_id: str, program: Program, host: PluginHost,
                 clock: Callable[[], datetime] = system_clock, hot: HotConnections | None = None) -> None:
        self.db = db
        self.shop_id = shop_id
        self.program = program
        self.host = host
        self.rules = RuleEngine(program, host)
        self.clock = clock
        self._writer = db.execution_options(loyalty_write=True)
        self._owns_hot = hot is None
        self.hot = hot if hot is not None else HotConnections(db)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: BEGIN IMMEDIATE on SQLite, row locks on PostgreSQL."""
        with self._writer.begin() as conn:
            yield conn

    def raw(self) -> AbstractContextManager[Raw]:
        """The hot path's connection: a driver connection without SQLAlchemy's per-statement
        layers, in autocommit mode; ``raw.transaction()`` opens a write. See ``HotConnections``."""
        return self.hot.use()

    def close(self) -> None:
        if self._owns_hot:
            self.hot.close()

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
