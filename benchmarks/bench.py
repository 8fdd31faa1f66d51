"""``make bench``: the SDK's throughput and latency beside the raw limits of this machine.

Every figure is printed next to the same work done without the SDK (``raw_limits.py``),
measured in the same run, and their ratio. Figures, not assertions: tests never time anything.

    python -m benchmarks.bench [--quick] [--postgres URL]

PostgreSQL figures need a server: ``--postgres`` or ``LOYALTY_TEST_POSTGRES_URL``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from statistics import median
from typing import Any

from benchmarks import raw_limits
from benchmarks.simulate_data import write_history
from loyalty_sdk.core import members
from loyalty_sdk.core.engine import Engine
from loyalty_sdk.core.models import LineItem, Member, MemberRef, Order
from loyalty_sdk.core.money import Money
from loyalty_sdk.core.orders import record_evaluated
from loyalty_sdk.core.plugin_host import PluginHost
from loyalty_sdk.core.program import load_program
from loyalty_sdk.core.storage import members as members_table
from loyalty_sdk.facade import Loyalty
from loyalty_sdk.simulate import read_history, simulate

START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
TIERS = ("bronze", "silver", "gold")
rows: list[tuple[str, str, str, str]] = []


def report(what: str, ours: float, raw: float, unit: str, target: str) -> None:
    ratio = f"{ours / raw:.2f}x raw" if raw else "-"
    rows.append((what, f"{ours:,.0f} {unit}", f"{raw:,.0f} {unit}", f"{ratio}   (target {target})"))
    print(f"  {what}: {ours:,.0f} {unit}  | raw {raw:,.0f} {unit} | {ratio} | target {target}", flush=True)


def five_line_order(rng: random.Random, number: int, customer: str, at: datetime) -> Order:
    lines = []
    for j in range(5):
        price = Decimal(rng.randrange(199, 8999)).scaleb(-2)
        lines.append(LineItem(
            line_id=f"{number}-{j}", quantity=rng.randint(1, 3), unit_price=Money(price, "USD"),
            discount=Money("1.00", "USD") if j == 0 else None, product_id=f"p{rng.randrange(50)}",
            collections=frozenset({"coffee"}) if j == 2 else frozenset(), gift_card=j == 4 and number % 10 == 0,
        ))
    discount = Money("5.00", "USD") if number % 3 == 0 else None
    return Order(str(number), MemberRef(customer), at, "USD", lines, order_discount=discount)


# -- evaluation ---------------------------------------------------------------------------------


def bench_evaluation(count: int, trials: int) -> None:
    program = load_program()
    engine = Engine(program, PluginHost(entry_points=False))
    rng = random.Random(7)
    people = [Member(i, "bench", f"c{i}", None, TIERS[i % 3], START) for i in range(100)]
    ours, raws = [], []
    for _ in range(trials):
        orders = [five_line_order(rng, n, f"c{n % 100}", START + timedelta(minutes=n)) for n in range(count)]
        start = time.perf_counter()
        for n, order in enumerate(orders):
            engine.evaluate_order(order, people[n % 100])
        ours.append(count / (time.perf_counter() - start))
        raws.append(raw_limits.pluggy_pipeline(count))
    report("orders evaluated through all hooks (default program, 5 lines, 1 core)", median(ours), median(raws),
           "orders/s", ">= 40,000")


def bench_simulate(lines: int, workdir: Path) -> None:
    """``loyalty simulate``'s replay of a synthetic history (the demo's store as a generic CSV):
    read, replayed with the jobs run every simulated midnight, totalled. One trial; the 1,000,000
    line figure is extrapolated from the measured rate, and printed as such."""
    path = workdir / "simulate.csv"
    written = write_history(path, lines)
    start = time.perf_counter()
    history = read_history(path)
    simulate(load_program(), history, entry_points=False)
    elapsed = time.perf_counter() - start
    rate = written / elapsed
    rows_label = f"{written:,} rows ({len(history.orders):,} orders)"
    print(f"  simulate: {rows_label} read and replayed in {elapsed:,.1f} s: {rate:,.0f} rows/s;"
          f" 1,000,000 rows extrapolated: {1_000_000 / rate:,.0f} s (target < 60 s)", flush=True)
    summary = f"{rate:,.0f} rows/s ({rows_label}; 1,000,000 rows extrapolated: {1_000_000 / rate:,.0f} s)"
    rows.append(("simulate: order history replayed through the default program, jobs daily, 1 core",
                 summary, "-", "(target 1,000,000 rows < 60 s)"))


# -- posting ------------------------------------------------------------------------------------


def _enroll_bulk(loyalty: Loyalty, count: int) -> None:
    with loyalty.books.write() as conn:
        conn.execute(members_table.insert(), [
            {"shop_id": loyalty.shop_id, "customer_id": f"c{i}", "email": None, "enrolled_at": START,
             "available": 0, "pending": 0, "lifetime_points": 0, "tier": TIERS[i % 3], "last_activity_at": START}
            for i in range(count)
        ])
    with loyalty.books.write() as conn:
        # Planner statistics, as autovacuum keeps them in a running database: without them
        # PostgreSQL may scan the wrong index for a table it believes empty.
        conn.exec_driver_sql("ANALYZE members")


def _orders(count: int, offset: int, members: int, seed: int) -> list[Order]:
    rng = random.Random(seed)
    return [five_line_order(rng, offset + n, f"c{(offset + n) % members}", START) for n in range(count)]


def _sqlite_trial(url: str, single: int, batched: int) -> tuple[float, float, float, Any]:
    """One fresh database: orders one per transaction, then evaluated batches, then batches
    end to end. Returns the three rates and the doctor's verdict."""
    with Loyalty(url, clock=lambda: START, entry_points=False) as loyalty:
        _enroll_bulk(loyalty, 1000)
        orders = _orders(single, 0, 1000, 1)
        start = time.perf_counter()
        for order in orders:
            loyalty.record_order(order)
        one_by_one = single / (time.perf_counter() - start)
        # Batches: each batch's rules evaluated first (as an import does before it writes), then
        # the batch posted; only the posting is timed. Batches are read as they come, as an
        # import reads its file: holding every order in memory would time the garbage collector.
        posting = 0.0
        for first in range(0, batched, 1000):
            orders = _orders(min(1000, batched - first), single + first, 1000, 2 + first)
            with loyalty.books.raw() as raw:
                found = members.lookup(raw, loyalty.shop_id, [order.member for order in orders])
            evaluated = [(found[o.member], loyalty.books.rules.evaluate_order(o, found[o.member])) for o in orders]
            start = time.perf_counter()
            record_evaluated(loyalty.books, evaluated)
            posting += time.perf_counter() - start
        count = batched // 5
        elapsed = 0.0
        for first in range(0, count, 1000):
            orders = _orders(1000, single + batched + first, 1000, 3 + first)
            start = time.perf_counter()
            loyalty.record_orders(orders)
            elapsed += time.perf_counter() - start
        return one_by_one, batched / posting, count / elapsed, loyalty.doctor()


def bench_sqlite(single: int, batched: int, workdir: Path, trials: int) -> None:
    singles, batches, ends, raw_singles, raw_batches, verdicts = [], [], [], [], [], []
    for trial in range(trials):  # ours and raw alternate, so drift in the machine hits both
        one, batch, end, doctor = _sqlite_trial(f"sqlite:///{workdir}/bench-{trial}.db", single, batched)
        singles.append(one)
        batches.append(batch)
        ends.append(end)
        verdicts.append(doctor["ok"])
        raw_singles.append(raw_limits.sqlite_orders(str(workdir / f"raw-{trial}.db"), single, 1, "NORMAL"))
        raw_batches.append(raw_limits.sqlite_orders(str(workdir / f"raw-b-{trial}.db"), batched, 1000, "NORMAL"))
    report("orders posted to SQLite, one per transaction (WAL, synchronous=NORMAL)", median(singles),
           median(raw_singles), "orders/s", ">= 3,000")
    report("evaluated orders posted to SQLite in batches of 1,000", median(batches), median(raw_batches),
           "orders/s", ">= 20,000")
    print(f"  (end to end with evaluation, record_orders in batches of 1,000: {median(ends):,.0f} orders/s)")
    print(f"  ledger checks after each trial's {single + batched + batched // 5:,} orders:"
          f" {'ok' if all(verdicts) else 'FAILED'}")


# -- PostgreSQL from several processes ----------------------------------------------------------


def _schema_url(url: str, schema: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}"


def _pg_worker(url: str, index: int, count: int, queue: Any) -> None:
    with Loyalty(url, clock=lambda: START, entry_points=False, migrate_schema=False) as loyalty:
        orders = _orders(count, index * count, 1000, 100 + index)
        start = time.perf_counter()
        for order in orders:
            loyalty.record_order(order)
        queue.put(time.perf_counter() - start)


def bench_postgres(url: str, per_process: int, processes: int, trials: int) -> None:
    import psycopg

    schema = "loyalty_bench"
    scoped = _schema_url(url, schema)
    ours, raws, verdicts, recorded = [], [], [], []
    for _ in range(trials):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.execute(f"CREATE SCHEMA {schema}")
        with Loyalty(scoped, clock=lambda: START, entry_points=False) as loyalty:
            _enroll_bulk(loyalty, 1000)
            slowest = raw_limits.slowest_of(_pg_worker, [(scoped, i, per_process) for i in range(processes)])
            ours.append(per_process * processes / slowest)
            verdicts.append(loyalty.doctor()["ok"])
            recorded.append(loyalty.summary()["orders"])
        raws.append(raw_limits.postgres_orders(url, per_process, processes))
    report(f"orders posted to PostgreSQL from {processes} processes", median(ours), median(raws), "orders/s",
           ">= 2,000")
    print(f"  invariants after each run: {'ok' if all(verdicts) else 'FAILED'}; orders recorded"
          f" {', '.join(f'{n:,}' for n in recorded)} of {per_process * processes:,} each")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


# -- the server: webhooks in, inbox to ledger -----------------------------------------------------


def bench_ingestion(label: str, url_for_trial: Any, processes: int, count: int, workdir: Path, trials: int) -> None:
    from benchmarks import server_bench

    results = [server_bench.ingestion_trial(url_for_trial(trial), processes, count, workdir) for trial in range(trials)]
    ours, p99, raw, raw_p99, stored = server_bench.summarize(results)
    report(f"webhooks ingested durably, {label}, {processes} server process{'es' if processes > 1 else ''}", ours,
           raw, "webhooks/s", ">= 3,000, p99 < 50 ms")
    print(f"    p99 {p99 * 1000:,.1f} ms (bare endpoint {raw_p99 * 1000:,.1f} ms); every 200 answered is in the inbox:"
          f" {'yes' if stored else 'NO'}")
    rows[-1] = (*rows[-1][:3], f"{rows[-1][3]}; p99 {p99 * 1000:,.1f} ms")


def bench_processing(url: str, count: int, workdir: Path, trials: int) -> None:
    from benchmarks import server_bench

    for workers in (1, 2):
        rates = []
        raws = []
        for _ in range(trials):
            rates.append(server_bench.processing_trial(_fresh_schema(url, "loyalty_bench"), workers, count, workdir))
            raws.append(raw_limits.postgres_orders(url, 2_000, workers))
        report(f"deliveries applied, inbox to ledger, PostgreSQL, {workers} loyalty worker process"
               f"{'es' if workers > 1 else ''}", median(rates), median(raws), "orders/s", "(no target)")


def psycopg_connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)


def _fresh_schema(url: str, schema: str) -> str:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
    return _schema_url(url, schema)


# -- balance reads on a big ledger --------------------------------------------------------------

_POPULATE = [
    """WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :members)
       INSERT INTO members (id, shop_id, customer_id, enrolled_at, available, pending, lifetime_points,
                            last_activity_at)
       SELECT i, 'default', 'c' || i, :at, 0, 0, 0, :at FROM n""",
    """WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :credits)
       INSERT INTO transactions (id, shop_id, member_id, idempotency_key, payload_hash, kind, points, reason,
                                 cause, detail, event_at, recorded_at, program_version, tier_points,
                                 tier_spend_minor, tier_orders, tier_at)
       SELECT i, 'default', (i % :members) + 1, 'gen:' || i, 'x', 'earn', 10 + i % 7, 'generated', '{}', '{}',
              :at, :at, 'bench', 10 + i % 7, 0, 0, :at FROM n""",
    """INSERT INTO lots (id, shop_id, member_id, transaction_id, points, remaining, status, earned_at,
                        available_at, expires_at)
       SELECT id, shop_id, member_id, id, points, points, 'available', :at, :at, NULL FROM transactions""",
    """INSERT INTO entries (shop_id, transaction_id, member_id, account, amount, lot_id)
       SELECT shop_id, id, member_id, 'available', points, id FROM transactions
       UNION ALL SELECT shop_id, id, member_id, 'issued', -points, id FROM transactions""",
    """UPDATE members SET available = totals.points, lifetime_points = totals.points
       FROM (SELECT member_id, sum(points) AS points FROM transactions GROUP BY member_id) AS totals
       WHERE totals.member_id = members.id""",
]


def bench_balance_reads(workdir: Path, member_count: int, lookups: int) -> None:
    from sqlalchemy import text

    url = f"sqlite:///{workdir}/big.db"
    with Loyalty(url, clock=lambda: START, entry_points=False) as loyalty:
        start = time.perf_counter()
        with loyalty.books.write() as conn:
            for statement in _POPULATE:
                conn.execute(text(statement), {"members": member_count, "credits": member_count * 5,
                                               "at": "2026-03-01 00:00:00.000000"})
        built = time.perf_counter() - start
        rng = random.Random(3)
        ids = [rng.randint(1, member_count) for _ in range(lookups)]
        for member_id in ids[:1000]:
            loyalty.balance(f"c{member_id}")
        times = []
        for member_id in ids:
            begin = time.perf_counter()
            loyalty.balance(f"c{member_id}")
            times.append(time.perf_counter() - begin)
        raw = raw_limits.sqlite_pk_lookups(str(workdir / "big.db"), ids)
        start = time.perf_counter()
        doctor = loyalty.doctor()
        checked = time.perf_counter() - start
    p50, p99 = _percentiles(times)
    raw50, raw99 = _percentiles(raw)
    entries = member_count * 10
    rows.append((f"balance read, {entries:,} entries / {member_count:,} members",
                 f"p50 {p50 * 1e6:,.0f} µs, p99 {p99 * 1e6:,.0f} µs",
                 f"p50 {raw50 * 1e6:,.1f} µs, p99 {raw99 * 1e6:,.1f} µs",
                 f"{p99 / raw99:.1f}x raw p99   (target p99 < 1 ms)"))
    print(f"  balance read ({entries:,} entries, {member_count:,} members): p50 {p50 * 1e6:,.0f} µs,"
          f" p99 {p99 * 1e6:,.0f} µs | raw PK lookup p50 {raw50 * 1e6:,.1f} µs, p99 {raw99 * 1e6:,.1f} µs"
          f" | built in {built:,.1f} s; doctor over it in {checked:,.1f} s: {'ok' if doctor['ok'] else 'FAILED'}")


def _percentiles(times: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(times, n=100)
    return cuts[49], cuts[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (a smoke test of the bench itself)")
    parser.add_argument("--postgres", default=os.environ.get("LOYALTY_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    print(f"loyalty-sdk benchmarks on {os.cpu_count()} cores, Python {sys.version.split()[0]}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        print("evaluation", flush=True)
        trials = 1 if args.quick else 3
        print(f"(each figure: the median of {trials} trials, ours and raw alternating)", flush=True)
        bench_evaluation(50_000 // scale, trials)
        bench_simulate(100_000 // scale, workdir)
        print("SQLite", flush=True)
        bench_sqlite(5_000 // scale, 50_000 // scale, workdir, trials)
        if args.postgres:
            print("PostgreSQL", flush=True)
            bench_postgres(args.postgres, 2_500 // scale, 4, trials)
        else:
            print("PostgreSQL: skipped (set LOYALTY_TEST_POSTGRES_URL or pass --postgres)")
        print("webhooks (loopback, 64 connections, answered after commit; beside a verify-only endpoint)", flush=True)
        count = 20_000 // scale
        bench_ingestion("SQLite", lambda trial: f"sqlite:///{workdir}/inbox-{trial}-1.db", 1, count, workdir, trials)
        bench_ingestion("SQLite", lambda trial: f"sqlite:///{workdir}/inbox-{trial}-2.db", 2, count, workdir, trials)
        if args.postgres:
            bench_ingestion("PostgreSQL", lambda trial: _fresh_schema(args.postgres, "loyalty_bench"), 2, count,
                            workdir, trials)
            print("processing (inbox to ledger)", flush=True)
            bench_processing(args.postgres, 6_000 // scale, workdir, trials)
            with psycopg_connect(args.postgres) as conn:
                conn.execute("DROP SCHEMA IF EXISTS loyalty_bench CASCADE")
        print("balance reads", flush=True)
        bench_balance_reads(workdir, 100_000 // scale, 50_000 // scale)
    print("\nsummary")
    for what, ours, raw, ratio in rows:
        print(f"- {what}\n    ours {ours} | raw {raw} | {ratio}")


if __name__ == "__main__":
    main()
