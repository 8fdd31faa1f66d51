"""``make bench``, the server part: durable webhook ingestion over loopback beside a bare
verify-only endpoint, and inbox-to-ledger processing by ``loyalty worker`` processes.

Every server here is the real command (``loyalty serve``, ``loyalty worker``) in its own
process; the load generator (``benchmarks.loadgen``) is a process of its own too. All of them
share this machine's 2 cores, as the raw limits in ../shared/research/limits.md did.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median
from typing import Any

import orjson

from benchmarks.loadgen import request_bytes
from loyalty_sdk.core.ledger import utc
from loyalty_sdk.server import inbox
from loyalty_sdk.server.custom import sign, webhook_secret
from loyalty_sdk.server.platforms import Accepted
from loyalty_sdk.server.runtime import Runtime
from loyalty_sdk.settings import Settings

SHOP = "bench.example"
SECRET_KEY = "bench-secret-key"
BIN = Path(sys.executable).parent
CONNECTIONS = 64


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _order(number: int) -> bytes:
    lines = [{"id": f"{number}-{j}", "quantity": 1 + j % 3, "unit_price": f"{5 + j * 7}.{number % 100:02d}",
              "product_id": f"p{(number + j) % 50}", "title": f"Product {j}",
              "collections": ["coffee"] if j == 2 else []} for j in range(5)]
    return orjson.dumps({"id": str(number), "customer": {"id": f"c{number % 1000}"},
                         "placed_at": "2026-03-02T15:00:00Z", "currency": "USD", "lines": lines})


def _signed_requests(port: int, first: int, count: int) -> list[bytes]:
    secret = webhook_secret(SECRET_KEY, SHOP)
    now = int(time.time())
    requests = []
    for number in range(first, first + count):
        body = _order(number)
        headers = {"Content-Type": "application/json", "X-Loyalty-Topic": "orders/paid",
                   "X-Loyalty-Delivery": f"bench-{number}", "X-Loyalty-Signature": sign(secret, body, now)}
        requests.append(request_bytes("127.0.0.1", port, f"/webhooks/custom/{SHOP}", headers, body))
    return requests


WARMUP = 2000


def _load(port: int, requests: list[bytes], workdir: Path, seconds: float = 20) -> dict[str, Any]:
    path = workdir / "requests.pickle"
    path.write_bytes(pickle.dumps(requests))
    out = subprocess.run([sys.executable, "-m", "benchmarks.loadgen", "127.0.0.1", str(port), str(path),
                          str(CONNECTIONS), str(seconds), str(min(WARMUP, len(requests) // 4))], check=True, capture_output=True, text=True)
    result = json.loads(out.stdout)
    result["statuses"] = {int(status): count for status, count in result["statuses"].items()}
    result["rate"] = result["answered"] / result["seconds"]
    return result


def _env(url: str) -> dict[str, str]:
    env = {**os.environ, "LOYALTY_DATABASE_URL": url, "LOYALTY_SECRET_KEY": SECRET_KEY}
    for name in ("LOYALTY_PROGRAM", "LOYALTY_API_KEY"):
        env.pop(name, None)
    return env


def _prepare(url: str) -> Runtime:
    runtime = Runtime(Settings(database_url=url, secret_key=SECRET_KEY), entry_points=False)
    runtime.add_shop(SHOP, "custom")
    return runtime


def _pending_and_done(runtime: Runtime) -> tuple[int, int]:
    with runtime.db.connect() as conn:
        counts = inbox.counts(conn)
    return counts["pending"], counts["done"]


def ingestion_trial(url: str, processes: int, count: int, workdir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``loyalty serve --workers N`` (no embedded worker) on an empty database, then the bare
    endpoint with as many processes, each loaded with ``count`` signed, distinct deliveries."""
    runtime = _prepare(url)
    port = _free_port()
    log = (workdir / "serve.log").open("ab")
    server = subprocess.Popen([str(BIN / "loyalty"), "serve", "--port", str(port), "--workers", str(processes),
                               "--no-embedded-worker"], env=_env(url), stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, server)
        ours = _load(port, _signed_requests(port, 0, count), workdir)
    finally:
        _stop(server)
        log.close()
    pending, _ = _pending_and_done(runtime)
    ours["stored_every_200"] = pending == ours["statuses"].get(200, 0)
    runtime.close()
    port = _free_port()
    bare = subprocess.Popen([str(BIN / "uvicorn"), "benchmarks.bare_webhook:app", "--port", str(port), "--workers",
                             str(processes), "--no-access-log", "--log-level", "warning"],
                            env={**os.environ, "BARE_WEBHOOK_SECRET": webhook_secret(SECRET_KEY, SHOP)})
    try:
        _wait_for_port(port, bare)
        raw = _load(port, _signed_requests(port, 0, count), workdir)
    finally:
        _stop(bare)
    return ours, raw


def processing_trial(url: str, workers: int, count: int, workdir: Path) -> float:
    """Deliveries applied per second by ``workers`` ``loyalty worker`` processes, from a full
    inbox to an empty one (timed from the first delivery done, so start-up is not counted)."""
    runtime = _prepare(url)
    at = utc(runtime.now())
    for first in range(0, count, 1000):
        inbox.store_many(runtime.db, [
            inbox.row("custom", Accepted(SHOP, "orders/paid", f"bench-{n}"), {}, _order(n), at)
            for n in range(first, min(count, first + 1000))])
    log = (workdir / "worker.log").open("ab")
    started = [subprocess.Popen([str(BIN / "loyalty"), "worker", "--no-jobs"], env=_env(url), stdout=log,
                                stderr=subprocess.STDOUT) for _ in range(workers)]
    try:
        first_done = _poll(lambda: _pending_and_done(runtime)[1] > 0)
        _, done_then = _pending_and_done(runtime)
        finished = _poll(lambda: _pending_and_done(runtime)[0] == 0, timeout=600)
    finally:
        for process in started:
            _stop(process)
        log.close()
    _, done = _pending_and_done(runtime)
    runtime.close()
    return (done - done_then) / (finished - first_done)


def _poll(check: Callable[[], bool], timeout: float = 120) -> float:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError("the benchmark's workers stopped making progress")
        time.sleep(0.05)
    return time.perf_counter()


def summarize(results: list[tuple[dict[str, Any], dict[str, Any]]]) -> tuple[float, float, float, float, bool]:
    ours = median(r[0]["rate"] for r in results)
    raw = median(r[1]["rate"] for r in results)
    p99 = median(r[0]["p99"] for r in results)
    raw_p99 = median(r[1]["p99"] for r in results)
    stored = all(r[0]["stored_every_200"] and set(r[0]["statuses"]) == {200} for r in results)
    return ours, p99, raw, raw_p99, stored


__all__ = ["ingestion_trial", "processing_trial", "summarize"]
