"""Over the real server: ``loyalty serve`` finds the Shopify plugin through its entry point,
takes Shopify's webhooks, and the effects show in the REST API."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest
import shopify_payloads as shopify
from shopify_harness import APP_SECRET, SHOP, shopify_headers

from loyalty_sdk.testing import loyalty_serve, wait_until

LOYALTY = str(Path(sys.executable).with_name("loyalty"))
ADMIN_KEY = "shopify-e2e-admin-key"
PROGRAM_TOML = """
[earn]
points_per_unit = 1
pending_days = 0

[[rewards]]
id = "5-off"
name = "$5 off"
kind = "fixed_amount"
points = 50
value = "5.00"
"""


@pytest.fixture
def server(tmp_path: Path, admin):
    """``loyalty serve`` with the Shopify app configured, its Admin API calls going to ``admin``."""
    program = tmp_path / "loyalty.toml"
    program.write_text(PROGRAM_TOML)
    env = {**os.environ, "LOYALTY_DATABASE_URL": f"sqlite:///{tmp_path}/shop.db", "LOYALTY_API_KEY": ADMIN_KEY,
           "LOYALTY_SHOPIFY_API_SECRET": APP_SECRET, "LOYALTY_PROGRAM": str(program)}
    subprocess.run([LOYALTY, "shops", "add", "shopify", SHOP], env=env, check=True, capture_output=True)
    with loyalty_serve(env, tmp_path / "serve.log") as base:
        yield base


def post(base: str, topic: str, document: dict, event_id: str) -> httpx.Response:
    body = orjson.dumps(document)
    return httpx.post(f"{base}/webhooks/shopify", content=body, headers=shopify_headers(body, topic, event_id=event_id))


def balance(base: str) -> int | None:
    found = httpx.get(f"{base}/api/v1/members", params={"shop": SHOP, "customer_id": str(shopify.CUSTOMER_ID)},
                      headers={"authorization": f"Bearer {ADMIN_KEY}"}).json()["members"]
    return found[0]["balance"]["available"] if found else None


def test_shopify_webhooks_to_a_running_server_earn_and_claw_back(server):
    assert post(server, "orders/paid", shopify.order(), "e-1").status_code == 200
    assert post(server, "refunds/create", shopify.refund(501, [(1, 1, "27.00")]), "e-2").status_code == 200
    forged = httpx.post(f"{server}/webhooks/shopify", content=b"{}",
                        headers={"X-Shopify-Hmac-Sha256": "AAAA", "X-Shopify-Topic": "orders/paid",
                                 "X-Shopify-Shop-Domain": SHOP})
    assert forged.status_code == 401
    # 69 earned, 27 back: the embedded worker gets there alone.
    wait_until(lambda: balance(server) == 42, "the balance to reach 42")


def test_a_merchant_installs_and_a_customer_redeems_on_the_storefront(server, admin, app_secret):
    from urllib.parse import urlencode

    from loyalty_shopify import oauth
    from loyalty_shopify.install import STATE_COOKIE
    from loyalty_shopify.proxy import proxy_signature

    shop = "fresh-shop.myshopify.com"
    with httpx.Client(base_url=server) as browser:
        started = browser.get("/shopify/install", params={"shop": shop})
        assert started.status_code == 302
        state = started.cookies[STATE_COOKIE]
        params = {"code": "c0de", "shop": shop, "state": state, "timestamp": str(int(time.time()))}
        params["hmac"] = oauth.query_hmac(params, app_secret)
        assert browser.get("/shopify/callback", params=params).status_code == 200
    # Orders of the new shop earn at once: its webhooks were subscribed, its tenant exists.
    order = shopify.order(order_id=9001, lines=[shopify.line(1, "80.00")])
    body = orjson.dumps(order)
    assert httpx.post(f"{server}/webhooks/shopify", content=body,
                      headers=shopify_headers(body, "orders/paid", shop=shop, event_id="e-9")).status_code == 200

    def signed(path: str) -> str:
        pairs = [("shop", shop), ("logged_in_customer_id", str(shopify.CUSTOMER_ID)),
                 ("path_prefix", "/apps/loyalty"), ("timestamp", str(int(time.time())))]
        return f"{server}{path}?{urlencode([*pairs, ('signature', proxy_signature(pairs, app_secret))])}"

    wait_until(lambda: (httpx.get(signed("/proxy/balance")).json().get("balance") or {}).get("available") == 80,
               "the order to show on the storefront")
    redeemed = httpx.post(signed("/proxy/redeem"), json={"reward_id": "5-off", "request_id": "r1"})
    assert redeemed.status_code == 200, redeemed.text
    assert redeemed.json()["balance"] == 30
    made = [body for path, body in admin.calls if "discountCodeBasicCreate" in body.get("query", "")]
    assert [m["variables"]["discount"]["code"] for m in made] == [redeemed.json()["code"]]
