"""Referrals over the REST API, as a custom store's sign-up and checkout pages use them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from loyalty_sdk import analytics
from loyalty_sdk.analytics.period import Period
from loyalty_sdk.server import auth
from loyalty_sdk.server.runtime import Runtime

from .conftest import SHOP, order_document
from .test_api import bearer

PROGRAM = {
    "program": {"name": "Test Rewards", "currency": "USD", "timezone": "UTC", "point_value": "0.01"},
    "earn": {"points_per_unit": 1, "pending_days": 14},
    "referrals": {"referrer_points": 500, "referee_points": 200, "min_order": "20",
                  "link": "https://north.example/?ref={code}"},
}


@pytest.fixture
def program() -> dict[str, Any]:
    return PROGRAM


@pytest.fixture
def api(client, runtime: Runtime) -> Any:
    key = auth.create_key(runtime.db, SHOP, "write", label="tests")[0]

    class Api:
        def get(self, path: str, **kw: Any) -> Any:
            return client.get(path, headers=bearer(key), **kw)

        def post(self, path: str, **kw: Any) -> Any:
            return client.post(path, headers=bearer(key), **kw)

    return Api()


def test_a_friend_signs_up_with_a_code_buys_and_both_are_rewarded(api, runtime, clock):
    ada = api.post("/api/v1/members", json={"customer_id": "ada", "email": "ada@example.com"}).json()
    shared = api.get(f"/api/v1/members/{ada['id']}/referral").json()
    assert shared["link"] == f"https://north.example/?ref={shared['code']}" and shared["referrals"] == []

    signed = api.post("/api/v1/referrals", json={"code": shared["code"].lower(), "customer": {"email": "bob@example.com"}})
    assert signed.status_code == 201 and signed.json()["status"] == "invited"
    again = api.post("/api/v1/referrals", json={"code": shared["code"], "customer": {"email": "bob@example.com"}})
    assert again.status_code == 200 and again.json()["replayed"] and again.json()["id"] == signed.json()["id"]

    document = order_document("1001", customer="bob", amount="30.00", quantity=1, email="bob@example.com")
    document["payer_fingerprint"] = "fp_bob"
    assert api.post("/api/v1/orders", json=document).status_code == 200
    [qualified] = api.get("/api/v1/referrals", params={"status": "qualified"}).json()["referrals"]
    assert (qualified["order_id"], qualified["referee_points"]) == ("1001", 200)

    loyalty = runtime.loyalty(SHOP)
    assert loyalty.run_jobs(clock() + timedelta(days=15)).referrals_rewarded == 1
    assert api.get(f"/api/v1/members/{ada['id']}").json()["balance"]["available"] == 500
    made = api.get(f"/api/v1/members/{ada['id']}/referral").json()["referrals"]
    assert [(r["status"], r["referrer_points"]) for r in made] == [("rewarded", 500)]

    clock.advance(days=16)  # the default period ends now
    figures = api.get("/api/v1/analytics/referrals").json()
    # One code used, one friend bought $30 of merchandise, 200 + 500 points worth $7.00.
    assert (figures["used"], figures["converted"], figures["rewarded"], figures["points"]) == (1, 1, 1, 700)
    assert figures["conversion_rate"] == "1.0000"
    assert figures["cost"] == {"amount": "7.00", "currency": "USD"}
    assert figures["first_orders_revenue"] == {"amount": "30.00", "currency": "USD"}
    whole = analytics.report(loyalty, Period(clock() - timedelta(days=30), clock()))
    assert whole.referrals.friends_revenue.amount == 30


def test_an_unknown_code_is_404_and_a_self_referral_is_recorded_as_refused(api):
    ada = api.post("/api/v1/members", json={"customer_id": "ada"}).json()
    code = api.get(f"/api/v1/members/{ada['id']}/referral").json()["code"]
    missing = api.post("/api/v1/referrals", json={"code": "NOPE2345", "customer": {"id": "bob"}})
    assert missing.status_code == 404 and missing.json()["error"] == "referral_code_not_found"
    refused = api.post("/api/v1/referrals", json={"code": code, "customer": {"id": "ada"}})
    assert refused.status_code == 201
    assert (refused.json()["status"], refused.json()["reason"]) == ("refused", "a member cannot refer themselves")
    assert api.get("/api/v1/referrals", params={"status": "bogus"}).status_code == 422


def test_bad_referral_requests_are_4xx_problems(api):
    nul = api.post("/api/v1/referrals", json={"code": "AB\u0000CD", "customer": {"id": "bob"}})
    assert nul.status_code == 422 and nul.json()["error"] == "invalid_input"
    assert api.get("/api/v1/referrals", params={"member_id": 2 ** 70}).status_code == 422
    assert api.post("/api/v1/referrals", json={"code": "ABCD2345"}).status_code == 422  # no customer
