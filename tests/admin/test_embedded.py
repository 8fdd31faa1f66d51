"""Inside the Shopify admin: an App Bridge session token signs in, for its own shop only."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from loyalty_sdk.core import tenancy
from loyalty_sdk.core.storage import admin_audit
from loyalty_sdk.server.runtime import Runtime
from loyalty_sdk.settings import Settings
from loyalty_sdk.testing import serving

from .conftest import ADMIN_KEY

jwt = pytest.importorskip("jwt")
shopify_plugin = pytest.importorskip("loyalty_shopify.plugin")

API_KEY = "shopify-client-id"
APP_SECRET = "shopify-app-secret-long-enough-for-hs256"
STORE = "north.myshopify.com"
UNINSTALLED = "gone.myshopify.com"


def token(shop: str = STORE, secret: str = APP_SECRET, expires_in: int = 60, user: str = "42") -> str:
    now = int(time.time())
    claims = {"iss": f"https://{shop}/admin", "dest": f"https://{shop}", "aud": API_KEY, "sub": user,
              "exp": now + expires_in, "nbf": now - 5, "iat": now - 5, "jti": "j1", "sid": "s1"}
    return "Bearer " + jwt.encode(claims, secret, algorithm="HS256")


@pytest.fixture
def shopify_runtime(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    monkeypatch.setenv("LOYALTY_SHOPIFY_API_KEY", API_KEY)
    monkeypatch.setenv("LOYALTY_SHOPIFY_API_SECRET", APP_SECRET)
    settings = Settings(database_url=database_url, secret_key="test-secret", api_key=ADMIN_KEY)
    with Runtime(settings, plugins=[shopify_plugin], entry_points=False) as runtime:
        runtime.add_shop(STORE, "shopify")
        runtime.add_shop("custom.example", "custom")
        runtime.add_shop(UNINSTALLED, "shopify")
        runtime.loyalty(STORE).enroll("gid-1", email="ada@example.com", name="Ada Lovelace")
        runtime.loyalty("custom.example").enroll("c-2", email="bob@example.com", name="Bob Other")
        with runtime.db.begin() as conn:
            tenancy.change_settings(conn, UNINSTALLED, {"uninstalled_at": "2026-03-01T00:00:00+00:00"})
        runtime.forget(UNINSTALLED)
        yield runtime


def test_a_session_token_signs_in_to_its_own_shop(shopify_runtime):
    with serving(shopify_runtime) as client:
        page = client.get("/admin/members", params={"q": "example.com"}, headers={"authorization": token()})
        assert page.status_code == 200 and "shop north.myshopify.com" in page.text
        assert "Sign out" not in page.text  # nothing to sign out of: every request carries its token
        assert "frame-ancestors https://north.myshopify.com https://admin.shopify.com" in page.headers[
            "content-security-policy"]
        bob = shopify_runtime.loyalty("custom.example").member("c-2")
        assert client.get(f"/admin/members/{bob.id}", headers={"authorization": token()}).status_code == 404


def test_a_session_token_adjusts_without_a_csrf_token_and_is_audited_as_the_shopify_user(shopify_runtime):
    member = shopify_runtime.loyalty(STORE).member("gid-1")
    with serving(shopify_runtime) as client:
        answer = client.post(f"/admin/members/{member.id}/adjustments", headers={"authorization": token(user="77")},
                             data={"points": "30", "reason": "review bonus"}, follow_redirects=False)
        assert answer.status_code == 303
    assert shopify_runtime.loyalty(STORE).history("gid-1")[0].cause["actor"] == "admin: shopify user 77"
    with shopify_runtime.db.connect() as conn:
        row = conn.execute(select(admin_audit).where(admin_audit.c.action == "adjust")).one()
    assert (row.actor, row.shop_id) == ("shopify user 77", STORE)


@pytest.mark.parametrize("case", ["forged", "expired", "not installed", "uninstalled", "custom shop"])
def test_other_session_tokens_sign_nobody_in(shopify_runtime, case):
    presented = {
        "forged": token(secret="another-app-secret-long-enough-for-hs256"),
        "expired": token(expires_in=-60),
        "not installed": token("nobody.myshopify.com"),
        "uninstalled": token(UNINSTALLED),
        "custom shop": token("custom.example"),
    }[case]
    member = shopify_runtime.loyalty(STORE).member("gid-1")
    with serving(shopify_runtime) as client:
        assert client.get("/admin/", headers={"authorization": presented}, follow_redirects=False).status_code == 303
        answer = client.post(f"/admin/members/{member.id}/adjustments", headers={"authorization": presented},
                             data={"points": "30", "reason": "x"})
        assert answer.status_code == 401
    assert shopify_runtime.loyalty(STORE).balance("gid-1").available == 0
