"""End to end over loopback: ``loyalty serve`` as a real process, signed deliveries sent with
httpx, their effects read back through the REST API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from loyalty_sdk.testing import free_port, wait_until

from .conftest import ADMIN_KEY, SECRET_KEY, order_document, signed_headers

SHOP = "north.example"
LOYALTY = str(Path(sys.executable).with_name("loyalty"))


@pytest.fixture
def server_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "LOYALTY_DATABASE_URL": database_url, "LOYALTY_SECRET_KEY": SECRET_KEY,
           "LOYALTY_API_KEY": ADMIN_KEY}
    env.pop("LOYALTY_PROGRAM", None)
    subprocess.run([LOYALTY, "shops", "add", "custom", SHOP], env=env, check=True, capture_output=True)
    return env


@pytest.fixture
def serve(server_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., str]]:
    """``serve(*options)`` starts ``loyalty serve`` and answers its base URL once it is up."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*options: str) -> str:
        port = free_port()
        log = open(tmp_path / f"serve-{port}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen([LOYALTY, "serve", "--port", str(port), *options], env=server_env,
                                   stdout=log, stderr=subprocess.STDOUT)
        started.append(process)
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: process.poll() is None and httpx.get(f"{base}/api/v1/health").status_code == 200,
                   f"loyalty serve on port {port} (log: {log.name})")
        return base

    yield start
    for process in started:
        process.send_signal(signal.SIGTERM)
    for process in started:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            raise


def post(base: str, topic: str, document: dict[str, Any], delivery: str) -> httpx.Response:
    body = orjson.dumps(document)
    return httpx.post(f"{base}/webhooks/custom/{SHOP}", content=body, headers=signed_headers(body, topic, delivery))


def member(base: str, customer_id: str) -> dict[str, Any] | None:
    answer = httpx.get(f"{base}/api/v1/members", params={"shop": SHOP, "customer_id": customer_id},
                       headers={"authorization": f"Bearer {ADMIN_KEY}"})
    assert answer.status_code == 200, answer.text
    found = answer.json()["members"]
    return found[0] if found else None


def points(found: dict[str, Any] | None) -> int:
    return 0 if found is None else found["balance"]["available"] + found["balance"]["pending"]


def test_deliveries_to_a_running_server_take_effect_once(serve):
    base = serve()
    assert post(base, "orders/paid", order_document("1001", "c1", "25.00", 2), "d-1").json() == {"accepted": True}
    assert post(base, "orders/paid", order_document("1002", "c1", "10.00", 1), "d-2").status_code == 200
    duplicate = post(base, "orders/paid", order_document("1001", "c1", "25.00", 2), "d-1")
    assert duplicate.json() == {"accepted": True, "duplicate": True}
    # The same order again under another delivery id: processed, but earns nothing more.
    assert post(base, "orders/paid", order_document("1001", "c1", "25.00", 2), "d-3").status_code == 200
    refund = {"id": "r1", "order_id": "1002", "refunded_at": "2026-03-03T10:00:00Z",
              "lines": [{"line_id": "1002-1", "quantity": 1}]}
    assert post(base, "refunds/create", refund, "d-4").status_code == 200
    # 50 + 10 earned, the 10 refunded: the embedded worker gets there on its own.
    wait_until(lambda: points(member(base, "c1")) == 50, "the worker to apply every delivery")
    forged = httpx.post(f"{base}/webhooks/custom/{SHOP}", content=b"{}",
                        headers={"x-loyalty-signature": "t=1,v1=" + "0" * 64, "x-loyalty-topic": "orders/paid"})
    assert forged.status_code == 401
    assert forged.json()["error"] == "invalid_signature"


def test_the_inbox_command_lists_what_the_server_accepted(serve, server_env):
    base = serve()
    post(base, "orders/paid", order_document("1001", "c1"), "d-1")
    bad = order_document("1002", "c1")
    bad["currency"] = "XYZ"
    post(base, "orders/paid", bad, "d-2")

    def settled() -> dict[str, Any] | None:
        listed = subprocess.run([LOYALTY, "inbox", "list", "--json"], env=server_env, capture_output=True,
                                check=True)
        shown = orjson.loads(listed.stdout)
        return shown if shown["counts"]["pending"] == 0 else None

    shown = wait_until(settled, "both deliveries to settle")
    assert shown["counts"] == {"pending": 0, "done": 1, "dead": 1}
    [dead] = [row for row in shown["deliveries"] if row["status"] == "dead"]
    assert "XYZ" in dead["last_error"]
    retried = subprocess.run([LOYALTY, "inbox", "retry", str(dead["id"]), "--json"], env=server_env,
                             capture_output=True, check=True)
    assert orjson.loads(retried.stdout) == {"retried": 1}
