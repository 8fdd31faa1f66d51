"""The storefront through Shopify's app proxy: the signature (Shopify's published vector)
decides who is asking; a logged-in member sees their balance, tier progress, affordable
rewards and history, and redeems."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest
import shopify_payloads as shopify
from loyalty_shopify import oauth, rewards
from loyalty_shopify.proxy import proxy_signature
from shopify_harness import APP_SECRET, SECRET_KEY, SHOP
from sqlalchemy import update

from loyalty_sdk.core.storage import shops

CUSTOMER = str(shopify.CUSTOMER_ID)


def test_the_signature_matches_shopifys_published_example():
    pairs = [("extra", "1"), ("extra", "2"), ("shop", "shop-name.myshopify.com"), ("logged_in_customer_id", "1"),
             ("path_prefix", "/apps/awesome_reviews"), ("timestamp", "1317327555")]
    assert proxy_signature(pairs, "hush") == "4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb"


def proxied(customer: str | None = CUSTOMER, secret: str = APP_SECRET, age: int = 0, shop: str = SHOP) -> str:
    pairs = [("shop", shop), ("logged_in_customer_id", customer or ""), ("path_prefix", "/apps/loyalty"),
             ("timestamp", str(int(time.time()) - age))]
    return urlencode([*pairs, ("signature", proxy_signature(pairs, secret))])


@pytest.fixture
def member(deliver, process, runtime):
    deliver("orders/paid", shopify.order(lines=[shopify.line(1, "620.00")]))
    process()
    return runtime.loyalty(SHOP).member(CUSTOMER)


def test_a_logged_in_member_sees_balance_progress_and_affordable_rewards(client, member):
    view = client.get(f"/proxy/balance?{proxied()}").json()
    assert view["member"] and view["balance"] == {"available": 620, "pending": 0}
    assert view["rewards"] == [{"id": "5-off", "name": "$5 off", "points": 500, "affordable": True}]
    assert set(view["progress"]) == {"tier", "next_tier", "metric", "current", "needed"}


def test_history_says_why_each_point_came(client, member):
    [line] = client.get(f"/proxy/history?{proxied()}").json()["history"]
    assert line["points"] == 620 and "620 points on spend" in line["reason"]


def test_a_visitor_who_is_not_logged_in_is_invited_to(client, member):
    assert client.get(f"/proxy/balance?{proxied(customer=None)}").json() == {"logged_in": False, "member": False}
    assert client.get(f"/proxy/history?{proxied(customer=None)}").status_code == 401
    assert "Log in" in client.get(f"/proxy?{proxied(customer=None)}").text


@pytest.mark.parametrize("bad", ["secret", "old", "tampered"])
def test_a_request_that_did_not_come_through_shopify_is_refused(client, member, bad):
    query = proxied(secret="another-app-secret" if bad == "secret" else APP_SECRET, age=3600 if bad == "old" else 0)
    if bad == "tampered":  # someone else's customer id under a genuine signature
        query = query.replace(f"logged_in_customer_id={CUSTOMER}", "logged_in_customer_id=999")
    answer = client.get(f"/proxy/balance?{query}")
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_signature"


def test_a_member_redeems_through_the_storefront(client, member, runtime, admin, monkeypatch):
    monkeypatch.setattr(rewards.time, "sleep", lambda seconds: None)
    with runtime.db.begin() as conn:
        conn.execute(update(shops).where(shops.c.id == SHOP).values(
            settings={"access_token": oauth.seal("shpat_token", SECRET_KEY)}))
    runtime.forget(SHOP)
    answer = client.post(f"/proxy/redeem?{proxied()}", json={"reward_id": "5-off", "request_id": "click-1"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["code"].startswith("LOYAL-") and answer.json()["balance"] == 120
    again = client.post(f"/proxy/redeem?{proxied()}", json={"reward_id": "5-off", "request_id": "click-1"})
    assert again.json()["code"] == answer.json()["code"]  # a double click spends once
    too_much = client.post(f"/proxy/redeem?{proxied()}", json={"reward_id": "5-off", "request_id": "click-2"})
    assert too_much.status_code == 409 and too_much.json()["error"] == "insufficient_points"


def test_the_widget_page_shows_the_member_their_points(client, member):
    page = client.get(f"/proxy?{proxied()}")
    assert page.headers["content-type"].startswith("text/html")
    assert "<strong>620</strong> points" in page.text and "$5 off" in page.text
    assert "http" not in page.text  # no external assets
