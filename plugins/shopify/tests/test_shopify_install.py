"""Installing the app: the OAuth query HMAC (Shopify's published test vectors), the install
redirect, and a callback that exchanges the code with a local stand-in of the Admin API,
keeps the token encrypted, registers the shop and subscribes its webhooks. Session tokens."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import shopify
from loyalty_shopify import oauth, sessions
from loyalty_shopify.install import STATE_COOKIE
from shopify_harness import API_KEY, SECRET_KEY
from sqlalchemy import select

from loyalty_sdk.core.storage import shops

NEW_SHOP = "new-shop.myshopify.com"


def test_the_query_hmac_matches_shopifys_published_vectors():
    params = {"code": "0907a61c0c8d55e99db179b68161bc00", "shop": "some-shop.myshopify.com",
              "state": "0.6784241404160823", "timestamp": "1337178173"}
    assert oauth.query_hmac(params, "hush") == "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"
    del params["state"]
    assert oauth.query_hmac(params, "hush") == "4712bf92ffc2917d15a2f5a273e39f0116667419aa4b6ac0b3baaf26fa3c4d20"


@pytest.mark.parametrize("params", [
    {"shop": "a.myshopify.com", "timestamp": "1", "code": "x=y&z", "list[]": ["1", "2"]},
    {"shop": "b.myshopify.com", "timestamp": "2", "state": "100%", "hmac": "ignored"},
])
def test_the_query_hmac_agrees_with_shopifyapi(params):
    shopify.Session.secret = "hush"
    try:
        assert oauth.query_hmac(params, "hush") == shopify.Session.calculate_hmac(params)
    finally:
        shopify.Session.secret = None


def signed_callback(secret: str, shop: str = NEW_SHOP, state: str = "s1", timestamp: int | None = None) -> dict:
    params = {"code": "auth-code", "shop": shop, "state": state, "timestamp": str(timestamp or int(time.time()))}
    params["hmac"] = oauth.query_hmac(params, secret)
    return params


def test_install_redirects_to_shopify_with_the_scopes_and_a_state_cookie(client, admin):
    answer = client.get("/shopify/install", params={"shop": NEW_SHOP}, follow_redirects=False)
    assert answer.status_code == 302
    target = urlsplit(answer.headers["location"])
    query = parse_qs(target.query)
    assert target.path == "/admin/oauth/authorize"
    assert query["client_id"] == [API_KEY] and query["scope"] == [",".join(oauth.SCOPES)]
    assert query["redirect_uri"] == ["https://loyalty.example/shopify/callback"]
    assert query["state"] == [answer.cookies[STATE_COOKIE]]


@pytest.mark.parametrize("shop", ["evil.example.com", "x.myshopify.com.evil.com", "", "UPPER..myshopify.com"])
def test_install_refuses_anything_but_a_shop_domain(client, admin, shop):
    answer = client.get("/shopify/install", params={"shop": shop}, follow_redirects=False)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_shop"


def test_the_callback_registers_the_shop_keeps_its_token_sealed_and_subscribes(client, admin, runtime, app_secret):
    client.cookies.set(STATE_COOKIE, "s1")
    answer = client.get("/shopify/callback", params=signed_callback(app_secret))
    assert answer.status_code == 200, answer.text
    record = runtime.shop(NEW_SHOP)
    assert (record.platform, record.currency, record.timezone) == ("shopify", "EUR", "Europe/Paris")
    with runtime.db.connect() as conn:
        stored = conn.execute(select(shops.c.settings).where(shops.c.id == NEW_SHOP)).scalar_one()
    assert "shpat_secret_token" not in json.dumps(stored)  # encrypted at rest
    assert oauth.unseal(stored["access_token"], SECRET_KEY) == "shpat_secret_token"
    subscriptions = [body["variables"] for path, body in admin.calls if "mutation" in body.get("query", "")]
    assert {s["topic"] for s in subscriptions} >= {"ORDERS_PAID", "REFUNDS_CREATE", "APP_UNINSTALLED"}
    assert all(s["webhookSubscription"] == {"uri": "https://loyalty.example/webhooks/shopify", "format": "JSON"}
               for s in subscriptions)
    assert all(body["token"] == "shpat_secret_token" for path, body in admin.calls if "graphql" in path)


def test_older_api_versions_subscribe_with_callback_url(client, admin, app_secret, monkeypatch):
    monkeypatch.setenv("LOYALTY_SHOPIFY_API_VERSION", "2024-10")
    client.cookies.set(STATE_COOKIE, "s1")
    assert client.get("/shopify/callback", params=signed_callback(app_secret)).status_code == 200
    subscription = next(body["variables"] for path, body in admin.calls if "mutation" in body.get("query", ""))
    assert "callbackUrl" in subscription["webhookSubscription"]
    assert any(path == "/admin/api/2024-10/graphql.json" for path, _ in admin.calls)


@pytest.mark.parametrize(("change", "status"), [("hmac", 401), ("state", 403), ("stale", 400), ("shop", 400)])
def test_a_callback_that_is_not_genuine_or_current_registers_nothing(client, admin, runtime, app_secret, change,
                                                                      status):
    client.cookies.set(STATE_COOKIE, "s1")
    params = signed_callback(app_secret, state="other" if change == "state" else "s1",
                             timestamp=int(time.time()) - 25 * 3600 if change == "stale" else None,
                             shop="evil.example.com" if change == "shop" else NEW_SHOP)
    if change == "hmac":
        params["code"] = "another-code"
    answer = client.get("/shopify/callback", params=params)
    assert answer.status_code == status
    assert runtime.shop(NEW_SHOP) is None
    assert admin.calls == []


def test_when_shopify_is_unreachable_the_install_says_so_and_registers_nothing(client, admin, runtime, app_secret):
    admin.down = True
    client.cookies.set(STATE_COOKIE, "s1")
    answer = client.get("/shopify/callback", params=signed_callback(app_secret))
    assert answer.status_code == 502 and answer.json()["error"] == "shopify_unavailable"
    assert runtime.shop(NEW_SHOP) is None


def test_uninstall_forgets_the_token_and_a_reinstall_brings_the_shop_back(client, admin, runtime, app_secret,
                                                                          deliver, process):
    client.cookies.set(STATE_COOKIE, "s1")
    client.get("/shopify/callback", params=signed_callback(app_secret))
    deliver("app/uninstalled", {"id": 1, "domain": NEW_SHOP}, shop=NEW_SHOP)
    process()
    settings = runtime.shop(NEW_SHOP).settings
    assert "access_token" not in settings and "uninstalled_at" in settings
    client.cookies.set(STATE_COOKIE, "s2")
    assert client.get("/shopify/callback", params=signed_callback(app_secret, state="s2")).status_code == 200
    assert "uninstalled_at" not in runtime.shop(NEW_SHOP).settings


def session_token(secret: str, shop: str = NEW_SHOP, audience: str = API_KEY, expires_in: int = 60,
                  dest: str | None = None) -> str:
    now = int(time.time())
    claims = {"iss": f"https://{shop}/admin", "dest": f"https://{dest or shop}", "aud": audience,
              "sub": "42", "exp": now + expires_in, "nbf": now - 5, "iat": now - 5, "jti": "j1", "sid": "s1"}
    return jwt.encode(claims, secret, algorithm="HS256")


def test_a_session_token_names_its_shop(app_secret):
    assert sessions.shop_of(f"Bearer {session_token(app_secret)}", API_KEY, app_secret) == NEW_SHOP


@pytest.mark.parametrize("bad", ["expired", "audience", "secret", "other-dest", "missing"])
def test_a_session_token_that_is_not_current_or_not_ours_is_refused(app_secret, bad):
    token = session_token("another-app-secret-long-enough-for-hs256" if bad == "secret" else app_secret,
                          audience="another-app" if bad == "audience" else API_KEY,
                          expires_in=-60 if bad == "expired" else 60,
                          dest="other.myshopify.com" if bad == "other-dest" else None)
    with pytest.raises(sessions.SessionRefused):
        sessions.shop_of(None if bad == "missing" else f"Bearer {token}", API_KEY, app_secret)


def test_the_embedded_app_sees_only_the_shop_its_session_token_names(client, admin, app_secret, deliver, process,
                                                                        runtime):
    import shopify_payloads as payloads
    from shopify_harness import SHOP

    deliver("orders/paid", payloads.order())
    process()
    mine = client.get("/shopify/admin/summary", headers={"authorization": f"Bearer {session_token(app_secret, SHOP)}"})
    assert mine.status_code == 200 and mine.json()["shop"] == SHOP and mine.json()["orders"] == 1
    unknown = client.get("/shopify/admin/summary",
                         headers={"authorization": f"Bearer {session_token(app_secret, 'nobody.myshopify.com')}"})
    assert unknown.status_code == 404
    forged = client.get("/shopify/admin/summary",
                        headers={"authorization": f"Bearer {session_token('x' * 40, SHOP)}"})
    assert forged.status_code == 401 and forged.json()["error"] == "unauthorized"
