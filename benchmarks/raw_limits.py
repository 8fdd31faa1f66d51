"""The raw limits each benchmark figure is compared with, measured in the same run.

Each function does the same work as the SDK path it stands beside, with nothing of ours in
the way: a bare pluggy pipeline on attrs objects, plain ``sqlite3`` statements, plain psycopg
statements. Method and published figures: ../shared/research/limits.md.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import sqlite3
import time
import uuid
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import pluggy
from attrs import frozen

# -- 1. a three-hook pluggy earn pipeline -------------------------------------------------------

spec = pluggy.HookspecMarker("rawbench")
impl = pluggy.HookimplMarker("rawbench")


@frozen
class Line:
    price: Decimal
    qty: int
    discount: Decimal
    collection: str
    gift_card: bool


@frozen
class RawOrder:
    lines: tuple[Line, ...]
    tier: str


class Specs:
    @spec
    def earn_rules(self, order):  # collected
        """Points per rule."""

    @spec
    def collection_multiplier(self, order):
        """Wrapped."""

    @spec(firstresult=True)
    def tier_multiplier(self, order):
        """First answer wins."""


class Rules:
    @impl
    def earn_rules(self, order):
        total = Decimal(0)
        for line in order.lines:
            if not line.gift_card:
                total += line.price * line.qty - line.discount
        return total

    @impl(wrapper=True)
    def collection_multiplier(self, order):
        result = yield
        return result

    @impl(trylast=True)
    def tier_multiplier(self, order):
        return Decimal(1)


class Other:
    @impl
    def earn_rules(self, order):
        return None

    @impl
    def collection_multiplier(self, order):
        return Decimal(1)

    @impl
    def tier_multiplier(self, order):
        return Decimal("1.5") if order.tier == "gold" else None


def pluggy_pipeline(count: int = 50_000) -> float:
    """Orders per second through earn_rules + a wrapped multiplier + a firstresult tier hook."""
    pm = pluggy.PluginManager("rawbench")
    pm.add_hookspecs(Specs)
    pm.register(Rules())
    pm.register(Other())
    hook = pm.hook
    orders = [
        RawOrder(tuple(Line(Decimal("12.99") + j, 1 + j % 3, Decimal("1.00") if j == 0 else Decimal(0), "c", j == 4)
                       for j in range(5)), "gold" if i % 2 else "bronze")
        for i in range(count)
    ]
    start = time.perf_counter()
    for order in orders:
        spend = sum((part for part in hook.earn_rules(order=order) if part is not None), Decimal(0))
        mult = hook.collection_multiplier(order=order)[0]
        tier = hook.tier_multiplier(order=order)
        int((spend * mult * tier).to_integral_value(rounding=ROUND_FLOOR))
    return count / (time.perf_counter() - start)


# -- 2. SQLite: a two-statement ledger transaction -----------------------------------------------

_LEDGER = """
CREATE TABLE ledger (id INTEGER PRIMARY KEY, account INTEGER NOT NULL, amount INTEGER NOT NULL,
                     idempotency_key TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL);
CREATE TABLE balances (account INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
"""


def _sqlite(path: str, synchronous: str) -> sqlite3.Connection:
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.executescript(_LEDGER)
    return conn


def _post(conn: sqlite3.Connection, rng: random.Random) -> None:
    account = rng.randrange(100_000)
    cursor = conn.execute(
        "INSERT INTO ledger (account, amount, idempotency_key, created_at) VALUES (?, ?, ?, datetime('now'))"
        " ON CONFLICT(idempotency_key) DO NOTHING",
        (account, 100, uuid.uuid4().hex),
    )
    if cursor.rowcount:
        conn.execute(
            "INSERT INTO balances (account, balance) VALUES (?, ?)"
            " ON CONFLICT(account) DO UPDATE SET balance = balance + excluded.balance",
            (account, 100),
        )


def sqlite_orders(path: str, count: int, batch: int, synchronous: str) -> float:
    """Orders per second: ``batch`` orders per ``BEGIN IMMEDIATE ... COMMIT``."""
    conn = _sqlite(path, synchronous)
    rng = random.Random(1)
    start = time.perf_counter()
    for first in range(0, count, batch):
        conn.execute("BEGIN IMMEDIATE")
        for _ in range(min(batch, count - first)):
            _post(conn, rng)
        conn.execute("COMMIT")
    rate = count / (time.perf_counter() - start)
    conn.close()
    return rate


def sqlite_pk_lookups(path: str, ids: list[int]) -> list[float]:
    """Latencies (seconds) of a primary-key read of a member's balances, plain sqlite3."""
    conn = sqlite3.connect(path, isolation_level=None)
    times = []
    for member_id in ids:
        start = time.perf_counter()
        conn.execute("SELECT available, pending FROM members WHERE id = ?", (member_id,)).fetchone()
        times.append(time.perf_counter() - start)
    conn.close()
    return times


# -- 3. PostgreSQL: one round trip per order, from several processes ------------------------------

_PG_CTE = """
WITH ins AS (
  INSERT INTO raw_ledger (account, amount, idempotency_key) VALUES (%s, %s, %s)
  ON CONFLICT (idempotency_key) DO NOTHING RETURNING account, amount)
INSERT INTO raw_balances (account, balance) SELECT account, amount FROM ins
ON CONFLICT (account) DO UPDATE SET balance = raw_balances.balance + excluded.balance
"""


def _pg_worker(url: str, count: int, seed: int, queue: multiprocessing.Queue) -> None:
    import psycopg

    rng = random.Random(seed)
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.cursor()
        start = time.perf_counter()
        for _ in range(count):
            cursor.execute(_PG_CTE, (rng.randrange(100_000), 100, uuid.uuid4().hex), prepare=True)
        queue.put(time.perf_counter() - start)


def slowest_of(target: Any, arguments: list[tuple[Any, ...]]) -> float:
    """Run ``target(*args, queue)`` in one fresh process per argument tuple, all at once, and
    return the slowest one's elapsed seconds (each worker puts its own timing on the queue)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=target, args=(*args, queue)) for args in arguments]
    for worker in workers:
        worker.start()
    slowest = max(queue.get() for _ in workers)
    for worker in workers:
        worker.join()
    return slowest


def postgres_orders(url: str, count: int, processes: int) -> float:
    """Orders per second with ``processes`` clients each posting ``count`` one-statement orders."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS raw_ledger, raw_balances")
        conn.execute(
            "CREATE TABLE raw_ledger (id bigserial PRIMARY KEY, account bigint NOT NULL, amount bigint NOT NULL,"
            " idempotency_key text NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute("CREATE TABLE raw_balances (account bigint PRIMARY KEY, balance bigint NOT NULL)")
    slowest = slowest_of(_pg_worker, [(url, count, seed) for seed in range(processes)])
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE raw_ledger, raw_balances")
    return count * processes / slowest
