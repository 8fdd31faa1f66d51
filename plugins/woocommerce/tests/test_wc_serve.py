"""Over the real server: ``loyalty serve`` finds the WooCommerce plugin through its entry
point, takes signed webhooks from a store connected with ``loyalty woocommerce connect``,
reads refunds from the store's REST API, and the effects show in the REST API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import wc_payloads as wc
from wc_harness import CONSUMER_KEY, CONSUMER_SECRET, SHOP, wc_headers, wc_json

from loyalty_sdk.testing import loyalty_serve, wait_until

LOYALTY = str(Path(sys.executable).with_name("loyalty"))
ADMIN_KEY = "woocommerce-e2e-admin-key"
PROGRAM_TOML = """
[earn]
points_per_unit = 1
pending_days = 0
"""


@pytest.fixture
def server(tmp_path: Path, store):
    """``loyalty serve`` with the store registered and connected, its REST API the fake."""
    program = tmp_path / "loyalty.toml"
    program.write_text(PROGRAM_TOML)
    env = {**os.environ, "LOYALTY_DATABASE_URL": f"sqlite:///{tmp_path}/shop.db", "LOYALTY_API_KEY": ADMIN_KEY,
           "LOYALTY_PROGRAM": str(program)}
    for command in (["shops", "add", "woocommerce", SHOP, "--currency", "USD"],
                    ["woocommerce", "connect", SHOP, "--consumer-key", CONSUMER_KEY, "--consumer-secret",
                     CONSUMER_SECRET, "--webhook-secret", "wc&amp;secret&#039;42", "--api-url", store.url]):
        subprocess.run([LOYALTY, *command], env=env, check=True, capture_output=True)
    with loyalty_serve(env, tmp_path / "serve.log") as base:
        yield base


def post(base: str, topic: str, document: dict) -> httpx.Response:
    body = wc_json(document)
    return httpx.post(f"{base}/webhooks/woocommerce", content=body, headers=wc_headers(body, topic))


def balance(base: str) -> int | None:
    found = httpx.get(f"{base}/api/v1/members", params={"shop": SHOP, "customer_id": str(wc.CUSTOMER_ID)},
                      headers={"authorization": f"Bearer {ADMIN_KEY}"}).json()["members"]
    return found[0]["balance"]["available"] if found else None


def test_woocommerce_webhooks_to_a_running_server_earn_and_claw_back(server, store):
    ping = httpx.post(f"{server}/webhooks/woocommerce", content=b"webhook_id=12",
                      headers={"content-type": "application/x-www-form-urlencoded"})
    assert ping.status_code == 200
    assert post(server, "order.created", wc.order(status="processing")).status_code == 200
    store.put(wc.order(status="completed"), [wc.refund(901, [(316, 1, "18.00")])])
    refunded = wc.order(status="completed", refunds=[(901, "-19.80")], modified="2026-03-05T09:00:00")
    assert post(server, "order.updated", refunded).status_code == 200
    forged = httpx.post(f"{server}/webhooks/woocommerce", content=b"{}",
                        headers={"x-wc-webhook-signature": "AAAA", "x-wc-webhook-topic": "order.updated",
                                 "x-wc-webhook-source": SHOP})
    assert forged.status_code == 401
    # 54 earned, 18 back: the embedded worker gets there alone.
    wait_until(lambda: balance(server) == 36, "the balance to reach 36")
