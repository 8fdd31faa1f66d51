"""Crash safety: a worker killed with SIGKILL in the middle of a batch, then restarted, leaves
every accepted delivery applied exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from sqlalchemy import func, select

from loyalty_sdk.core.storage import inbox as inbox_table
from loyalty_sdk.core.storage import transactions

from .conftest import ADMIN_KEY, SECRET_KEY, SHOP, order_document
from .test_serve_e2e import LOYALTY, wait_until

DELIVERIES = 600


def inbox_state(runtime) -> dict[str, int]:
    with runtime.db.connect() as conn:
        done = conn.scalar(select(func.count()).select_from(inbox_table).where(inbox_table.c.status == "done"))
        held = conn.scalar(select(func.count()).select_from(inbox_table).where(
            inbox_table.c.status == "pending", inbox_table.c.claimed_by.is_not(None)))
    return {"done": done, "held": held}


def freeze_mid_batch(process: subprocess.Popen, runtime, timeout: float = 60) -> dict[str, int]:
    """Stop the worker with SIGSTOP at a moment it holds a claimed, partly applied batch.

    Looking first and killing after would race the worker, which may finish its batch in
    between; a stopped process cannot, so what is read is what the kill will find.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process.send_signal(signal.SIGSTOP)
        while Path(f"/proc/{process.pid}/stat").read_text().split(") ")[1][0] != "T":
            time.sleep(0.001)  # the signal is delivered asynchronously
        state = inbox_state(runtime)
        if 100 <= state["done"] < DELIVERIES - 100 and state["held"] > 0:
            return state
        process.send_signal(signal.SIGCONT)
        time.sleep(0.005)
    raise AssertionError(f"the worker was never caught in the middle of a batch within {timeout} s")


def test_a_worker_killed_mid_batch_and_restarted_applies_everything_once(runtime, push, database_url, tmp_path):
    for n in range(DELIVERIES):
        assert push("orders/paid", order_document(f"o{n}", customer=f"c{n % 25}", amount="10.00", quantity=1),
                    delivery=f"d-{n}").status_code == 200
    env = {**os.environ, "LOYALTY_DATABASE_URL": database_url, "LOYALTY_SECRET_KEY": SECRET_KEY,
           "LOYALTY_API_KEY": ADMIN_KEY}
    command = [LOYALTY, "worker", "--batch", "50", "--lease", "2", "--no-jobs"]
    log = Path(tmp_path, "worker.log").open("wb")
    first = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        # Kill it while it holds a claimed batch that it has only partly applied.
        frozen = freeze_mid_batch(first, runtime)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    interrupted = inbox_state(runtime)
    assert interrupted == frozen and interrupted["held"] > 0
    second = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: inbox_state(runtime)["done"] == DELIVERIES, "the restarted worker to finish", timeout=120)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=20)
        log.close()
    shop = runtime.loyalty(SHOP)
    with runtime.db.connect() as conn:
        earns = conn.scalar(select(func.count()).select_from(transactions).where(
            transactions.c.shop_id == SHOP, transactions.c.kind == "earn"))
    assert earns == DELIVERIES
    # 10.00 each at 1 point per dollar: every order counted once, however often it was tried.
    assert sum(shop.balance(f"c{n}").pending + shop.balance(f"c{n}").available for n in range(25)) == DELIVERIES * 10
    assert shop.doctor()["ok"]
