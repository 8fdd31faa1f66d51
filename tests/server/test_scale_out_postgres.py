"""Scale-out on PostgreSQL: 3 ``loyalty serve`` processes and 2 ``loyalty worker`` processes
share one database. 5,000 deliveries (20% of them duplicates) arrive spread over the servers
while members redeem at the same time; the books end exactly as a serial replay of the same
deliveries and redemptions, ``loyalty doctor`` passes and nothing is dead-lettered."""

from __future__ import annotations

import random
import signal
import subprocess
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from loyalty_sdk.facade import Loyalty
from loyalty_sdk.server.schemas import OrderIn

from .conftest import ADMIN_KEY, SECRET_KEY, order_document, signed_headers
from .test_serve_e2e import LOYALTY, free_port, wait_until

pytestmark = pytest.mark.postgres

SHOP = "north.example"
UNIQUE = 4_000
DUPLICATES = 1_000
CUSTOMERS = 40
PROGRAM = """
[earn]
pending_days = 0            # points spendable at once, so redemptions race the orders

[[rewards]]
id = "5-off"
name = "$5 off"
kind = "fixed_amount"
points = 500
value = "5.00"
"""


def orders() -> list[dict[str, Any]]:
    rng = random.Random(5)
    return [order_document(f"o{n}", customer=f"c{n % CUSTOMERS}", amount=f"{rng.randint(5, 80)}.{rng.randint(0, 99):02d}",
                           quantity=rng.randint(1, 3)) for n in range(UNIQUE)]


def deliveries(documents: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    """Every order once, then 20% again: half with the same delivery id (caught by the inbox),
    half as a platform retry with a new one (caught by the ledger's idempotency)."""
    rng = random.Random(6)
    sent = [(document, f"d-{document['id']}") for document in documents]
    for n in range(DUPLICATES):
        document = documents[rng.randrange(UNIQUE)]
        sent.append((document, f"d-{document['id']}" if n % 2 else f"retry-{n}-{document['id']}"))
    rng.shuffle(sent)
    return sent


@pytest.fixture
def cluster(postgres_url: str, tmp_path: Path):
    program = tmp_path / "loyalty.toml"
    program.write_text(PROGRAM)
    env = {"PATH": str(Path(LOYALTY).parent), "LOYALTY_DATABASE_URL": postgres_url, "LOYALTY_SECRET_KEY": SECRET_KEY,
           "LOYALTY_API_KEY": ADMIN_KEY, "LOYALTY_PROGRAM": str(program)}
    subprocess.run([LOYALTY, "shops", "add", "custom", SHOP], env=env, check=True, capture_output=True)
    log = (tmp_path / "cluster.log").open("wb")
    processes, bases = [], []
    for _ in range(3):
        port = free_port()
        processes.append(subprocess.Popen([LOYALTY, "serve", "--port", str(port), "--no-embedded-worker"], env=env,
                                          stdout=log, stderr=subprocess.STDOUT))
        bases.append(f"http://127.0.0.1:{port}")
    for _ in range(2):
        processes.append(subprocess.Popen([LOYALTY, "worker", "--batch", "100"], env=env, stdout=log,
                                          stderr=subprocess.STDOUT))
    for base in bases:
        wait_until(lambda base=base: httpx.get(f"{base}/api/v1/health").status_code == 200, f"{base} to start")
    yield bases, postgres_url, program
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(timeout=30)
    log.close()


def test_many_processes_end_with_the_books_of_a_serial_replay(cluster, tmp_path):
    bases, postgres_url, program = cluster
    documents = orders()
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    redeemed: Counter[str] = Counter()
    stop = threading.Event()

    def deliver(item: tuple[int, tuple[dict[str, Any], str]]) -> int:
        n, (document, delivery) = item
        body = orjson.dumps(document)
        with httpx.Client(base_url=bases[n % len(bases)]) as http:
            return http.post(f"/webhooks/custom/{SHOP}", content=body,
                             headers=signed_headers(body, "orders/paid", delivery)).status_code

    def redeem_while_orders_arrive(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(headers=admin, params={"shop": SHOP}) as http:
            n = 0
            while not stop.is_set():
                customer = f"c{rng.randrange(CUSTOMERS)}"
                base = bases[rng.randrange(len(bases))]
                found = http.get(f"{base}/api/v1/members", params={"shop": SHOP, "customer_id": customer}).json()
                if not found["members"]:
                    continue
                answer = http.post(f"{base}/api/v1/members/{found['members'][0]['id']}/redemptions",
                                   json={"reward_id": "5-off"}, headers={"idempotency-key": f"r{seed}-{n}"})
                n += 1
                assert answer.status_code in (201, 409), answer.text
                if answer.status_code == 201:
                    redeemed[customer] += 1
                else:
                    assert answer.json()["error"] == "insufficient_points"

    redeemers = [threading.Thread(target=redeem_while_orders_arrive, args=(seed,)) for seed in range(4)]
    for thread in redeemers:
        thread.start()
    try:
        with ThreadPoolExecutor(16) as pool:
            statuses = Counter(pool.map(deliver, enumerate(deliveries(documents))))
        assert statuses == {200: UNIQUE + DUPLICATES}

        def settled() -> bool:
            listed = subprocess.run([LOYALTY, "inbox", "list", "--json", "--limit", "1"], capture_output=True,
                                    check=True, env={"LOYALTY_DATABASE_URL": postgres_url})
            return orjson.loads(listed.stdout)["counts"]["pending"] == 0

        wait_until(settled, "the workers to apply every delivery", timeout=300)
    finally:
        stop.set()
        for thread in redeemers:
            thread.join()
    listed = subprocess.run([LOYALTY, "inbox", "list", "--json"], capture_output=True, check=True,
                            env={"LOYALTY_DATABASE_URL": postgres_url})
    counts = orjson.loads(listed.stdout)["counts"]
    assert counts["dead"] == 0
    assert counts["done"] == UNIQUE + DUPLICATES // 2  # same-id duplicates were never stored
    assert sum(redeemed.values()) > 0  # the redemptions really raced the orders

    # The serial replay: every order once, then every redemption that succeeded.
    with Loyalty(f"sqlite:///{tmp_path}/replay.db", program, shop=SHOP, entry_points=False) as replay:
        for document in documents:
            order = OrderIn.model_validate(document).to_core("custom")
            try:
                replay.member(order.member)
            except LookupError:
                replay.enroll(order.member.customer_id)
            replay.record_order(order)
        for customer, times in redeemed.items():
            for n in range(times):
                replay.redeem(customer, "5-off", idempotency_key=f"{customer}-{n}")
        expected = {f"c{n}": replay.balance(f"c{n}") for n in range(CUSTOMERS)}
    with Loyalty(postgres_url, program, shop=SHOP, entry_points=False, migrate_schema=False) as live:
        actual = {f"c{n}": live.balance(f"c{n}") for n in range(CUSTOMERS)}
        assert live.doctor()["ok"]
    assert actual == expected
