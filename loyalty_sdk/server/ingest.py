"""Group commit for the inbox: many webhook requests, one transaction.

Every request waits for its delivery to be committed before it is answered; committing each
one on its own would make the commit (an fsync on PostgreSQL, the WAL write on SQLite) the
limit. Each process commits on one writer thread: whatever requests arrived while the previous
commit ran are stored together, in one transaction, then each is answered. Under load, batches
grow by themselves; when idle, a lone request is committed at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from loyalty_sdk.core.books import HotConnections
from loyalty_sdk.server import inbox
from loyalty_sdk.server.platforms import Accepted

log = logging.getLogger("loyalty_sdk.server")
MAX_BATCH = 500


class InboxUnavailable(Exception):
    """The inbox could not store a delivery (the database is down): answered 503 so the
    platform retries later."""


class InboxWriter:
    """Stores verified deliveries for the requests waiting on them, many per commit.

    Requests wait on plain asyncio futures in their event loop; one commit at a time runs on
    a single writer thread (the database releases the interpreter while it waits), and its
    outcome is handed back to the loop in one step for the whole batch."""

    def __init__(self, engine: Engine, max_batch: int = MAX_BATCH) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self._pending: list[tuple[dict[str, Any], asyncio.Future[bool]]] = []
        self._flushing: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        # The writer thread keeps one driver connection between commits.
        self._connections = HotConnections(engine)
        self.commits = 0
        self.stored = 0

    async def store(self, platform: str, accepted: Accepted, headers: Mapping[str, str], body: bytes,
                    at: datetime) -> bool:
        """True once the delivery is committed; False for a duplicate (nothing new stored)."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((inbox.row(platform, accepted, headers, body, at), done))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        return await done

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="loyalty-inbox-writer")
            # Whatever arrived while the previous commit ran goes into the next one.
            batch, self._pending = self._pending[:self.max_batch], self._pending[self.max_batch:]
            try:
                fresh = await loop.run_in_executor(self._executor, self._commit, [row for row, _ in batch])
            except Exception as error:  # the database is unreachable: every waiting request says so
                log.error("inbox: could not store %d deliveries: %s", len(batch), error)
                for _, done in batch:
                    if not done.done():
                        done.set_exception(InboxUnavailable(str(error)))
                continue
            for row, done in batch:
                key = inbox.identity(row)
                # The first request of an identity gets "stored"; a later one in the batch, "duplicate".
                if not done.done():
                    done.set_result(key in fresh)
                fresh.discard(key)

    def _commit(self, rows: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
        with self._connections.use() as raw:
            fresh = inbox.store_many(raw, rows)
        self.commits += 1
        self.stored += len(fresh)
        return fresh

    def close(self) -> None:
        """Stop the writer thread once the commit in flight is done (it starts again on the
        next delivery: an app's lifespan may run more than once, as in tests)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.submit(self._connections.close).result(timeout=30)
            executor.shutdown(wait=True)


__all__ = ["InboxUnavailable", "InboxWriter"]
