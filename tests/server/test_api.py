"""The REST API as a custom store and an admin use it: orders in, balances and history out,
redemptions and adjustments, API keys, and the problems bad requests get."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from loyalty_sdk.core.errors import InvalidInput, ShopNotFound
from loyalty_sdk.core.storage import api_keys
from loyalty_sdk.server import auth
from loyalty_sdk.server.runtime import Runtime

from .conftest import ADMIN_KEY, SHOP, order_document

PROGRAM = {
    "program": {"name": "Test Rewards", "currency": "USD", "timezone": "UTC", "point_value": "0.01"},
    "earn": {"points_per_unit": 1, "pending_days": 0},
    "activities": [{"kind": "signup", "points": 100, "per_lifetime": 1}],
    "tiers": {"metric": "points", "window": "lifetime",
              "levels": [{"id": "bronze", "threshold": 0}, {"id": "gold", "threshold": 5000, "multiplier": "1.5"}]},
    "rewards": [
        {"id": "5-off", "name": "$5 off", "kind": "fixed_amount", "points": 500, "value": "5.00"},
        {"id": "gold-mug", "name": "A mug", "kind": "free_product", "points": 300, "product_id": "mug",
         "value": "12.00", "tiers": ["gold"]},
    ],
}


@pytest.fixture
def program() -> dict[str, Any]:
    return PROGRAM


@pytest.fixture
def write_key(runtime: Runtime) -> str:
    return auth.create_key(runtime.db, SHOP, "write", label="tests")[0]


@pytest.fixture
def read_key(runtime: Runtime) -> str:
    return auth.create_key(runtime.db, SHOP, "read")[0]


def bearer(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


@pytest.fixture
def api(client: TestClient, write_key: str) -> Any:
    """The client with the shop's write key on every request."""

    class Api:
        def get(self, path: str, **kw: Any) -> Any:
            return client.get(path, headers=bearer(write_key, **kw.pop("headers", {})), **kw)

        def post(self, path: str, **kw: Any) -> Any:
            return client.post(path, headers=bearer(write_key, **kw.pop("headers", {})), **kw)

        def delete(self, path: str, **kw: Any) -> Any:
            return client.delete(path, headers=bearer(write_key, **kw.pop("headers", {})), **kw)

    return Api()


def place(api: Any, order_id: str, customer: str = "c1", amount: str = "25.00", quantity: int = 2,
          **extra: Any) -> dict[str, Any]:
    answer = api.post("/api/v1/orders", json=order_document(order_id, customer, amount, quantity, **extra))
    assert answer.status_code == 200, answer.text
    return answer.json()


def grant(api: Any, member_id: int, points: int, reason: str = "welcome gift") -> dict[str, Any]:
    answer = api.post(f"/api/v1/members/{member_id}/adjustments", json={"points": points, "reason": reason})
    assert answer.status_code == 201, answer.text
    return answer.json()


def balance(api: Any, member_id: int) -> dict[str, int]:
    return api.get(f"/api/v1/members/{member_id}").json()["balance"]


# -- orders, members, balances ------------------------------------------------------------------


def test_an_order_enrolls_the_customer_and_the_lookup_shows_the_points(api: Any) -> None:
    placed = place(api, "1001", customer="c1", amount="25.00", quantity=2, email="Ada@Example.com")

    assert placed["points"] == 50 and placed["enrolled"] is True and placed["replayed"] is False
    assert placed["pending"] is False and placed["balance"] == {"available": 50, "pending": 0}
    assert [award["rule_id"] for award in placed["awards"]] == ["earn.spend"]
    found = api.get("/api/v1/members", params={"customer_id": "c1"}).json()
    assert list(found) == ["members"] and len(found["members"]) == 1
    member = found["members"][0]
    assert {"id", "email", "customer_id", "balance", "tier", "lifetime_points"} <= set(member)
    assert member["id"] == placed["member_id"] and member["customer_id"] == "c1"
    assert member["email"] == "ada@example.com"
    assert member["balance"] == {"available": 50, "pending": 0}
    assert member["tier"] == "bronze" and member["lifetime_points"] == 50
    by_email = api.get("/api/v1/members", params={"email": "ADA@example.com"}).json()["members"]
    assert [m["id"] for m in by_email] == [member["id"]]


def test_the_same_order_again_is_a_replay_and_changes_nothing(api: Any) -> None:
    first = place(api, "1001")
    again = place(api, "1001")

    assert again["replayed"] is True and again["enrolled"] is False
    assert again["points"] == first["points"] and again["transaction_id"] == first["transaction_id"]
    assert balance(api, first["member_id"]) == {"available": 50, "pending": 0}


def test_the_same_order_id_with_other_contents_is_a_conflict(api: Any) -> None:
    place(api, "1001", amount="25.00")
    changed = api.post("/api/v1/orders", json=order_document("1001", amount="99.00"))

    assert changed.status_code == 409
    assert changed.json()["error"] == "idempotency_conflict"


def test_lots_show_what_is_left_of_each_earning(api: Any) -> None:
    member_id = place(api, "1001")["member_id"]
    grant(api, member_id, 500)
    api.post(f"/api/v1/members/{member_id}/adjustments", json={"points": -60, "reason": "correction"})

    lots = api.get(f"/api/v1/members/{member_id}/lots").json()["lots"]

    assert [(lot["points"], lot["remaining"], lot["status"]) for lot in lots] == [(50, 0, "available"),
                                                                                   (500, 490, "available")]


def test_member_lookup_answers_an_empty_list_for_nobody(api: Any) -> None:
    assert api.get("/api/v1/members", params={"email": "nobody@example.com"}).json() == {"members": []}
    assert api.get("/api/v1/members", params={"customer_id": "nobody"}).json() == {"members": []}


def test_members_without_a_filter_are_listed_in_pages(api: Any) -> None:
    for customer in ("c7", "c8", "c9"):
        assert api.post("/api/v1/members", json={"customer_id": customer}).status_code == 201
    everyone = api.get("/api/v1/members").json()["members"]
    first = api.get("/api/v1/members", params={"limit": 2}).json()["members"]
    rest = api.get("/api/v1/members", params={"limit": 2, "after": first[-1]["id"]}).json()["members"]
    assert [m["customer_id"] for m in first + rest] == [m["customer_id"] for m in everyone]
    assert {"c7", "c8", "c9"} <= {m["customer_id"] for m in everyone} and len(first) == 2


def test_enroll_then_enrolling_again_is_409(api: Any) -> None:
    created = api.post("/api/v1/members", json={"customer_id": "c9", "email": "c9@example.com", "name": "Cy"})
    assert created.status_code == 201
    assert created.json()["customer_id"] == "c9" and created.json()["balance"] == {"available": 0, "pending": 0}

    again = api.post("/api/v1/members", json={"customer_id": "c9"})

    assert again.status_code == 409 and again.json()["error"] == "member_exists"


def test_enroll_needs_a_customer_id_or_an_email(api: Any) -> None:
    answer = api.post("/api/v1/members", json={"name": "nobody"})

    assert answer.status_code == 422 and answer.json()["error"] == "invalid_request"


def test_a_member_by_id_and_an_unknown_id_is_404(api: Any) -> None:
    placed = place(api, "1001")

    member = api.get(f"/api/v1/members/{placed['member_id']}")
    missing = api.get(f"/api/v1/members/{placed['member_id'] + 1000}")

    assert member.status_code == 200 and member.json()["customer_id"] == "c1"
    assert missing.status_code == 404 and missing.json()["error"] == "member_not_found"


def test_balance_endpoint(api: Any) -> None:
    placed = place(api, "1001")

    answer = api.get(f"/api/v1/members/{placed['member_id']}/balance").json()

    assert answer == {"member_id": placed["member_id"], "available": 50, "pending": 0, "lifetime_points": 50,
                      "tier": "bronze"}


def test_history_says_why_with_rules_and_order_ids(api: Any, clock: Any) -> None:
    placed = place(api, "1001")
    clock.advance(minutes=1)
    grant(api, placed["member_id"], 20, reason="sorry about the late parcel")

    history = api.get(f"/api/v1/members/{placed['member_id']}/transactions").json()["transactions"]

    assert [(t["kind"], t["points"]) for t in history] == [("adjust", 20), ("earn", 50)]
    assert history[0]["reason"] == "sorry about the late parcel" and history[0]["order_id"] is None
    assert history[1]["order_id"] == "1001" and history[1]["rules"] == ["earn.spend"]
    assert "1001" in history[1]["reason"]
    limited = api.get(f"/api/v1/members/{placed['member_id']}/transactions", params={"limit": 1}).json()
    assert [t["kind"] for t in limited["transactions"]] == ["adjust"]


# -- redemptions --------------------------------------------------------------------------------


def redeem(api: Any, member_id: int, key: str, body: dict[str, Any]) -> Any:
    return api.post(f"/api/v1/members/{member_id}/redemptions", json=body, headers={"Idempotency-Key": key})


def test_a_redemption_spends_points_and_gives_a_code(api: Any) -> None:
    member_id = place(api, "1001")["member_id"]
    grant(api, member_id, 1000)

    answer = redeem(api, member_id, "checkout-1", {"reward_id": "5-off"})

    assert answer.status_code == 201
    body = answer.json()
    assert body["points"] == 500 and body["value"] == "5.00" and body["currency"] == "USD"
    assert body["status"] == "issued" and body["code"] and body["replayed"] is False
    assert body["balance"] == {"available": 550, "pending": 0}
    assert "idempotent-replayed" not in answer.headers


def test_the_same_idempotency_key_and_body_replays_the_redemption(api: Any) -> None:
    member_id = place(api, "1001")["member_id"]
    grant(api, member_id, 1000)
    first = redeem(api, member_id, "checkout-1", {"reward_id": "5-off"}).json()

    again = redeem(api, member_id, "checkout-1", {"reward_id": "5-off"})

    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["replayed"] is True
    assert (again.json()["id"], again.json()["code"]) == (first["id"], first["code"])
    assert balance(api, member_id) == {"available": 550, "pending": 0}


def test_reusing_an_idempotency_key_for_another_redemption_is_409(api: Any) -> None:
    member_id = place(api, "1001")["member_id"]
    grant(api, member_id, 1000)
    redeem(api, member_id, "checkout-1", {"reward_id": "5-off"})

    reused = redeem(api, member_id, "checkout-1", {"reward_id": "5-off", "points": 600})

    assert reused.status_code == 409 and reused.json()["error"] == "idempotency_conflict"
    assert balance(api, member_id) == {"available": 550, "pending": 0}


def test_a_redemption_beyond_the_balance_is_409_insufficient_points(api: Any) -> None:
    member_id = place(api, "1001")["member_id"]

    answer = redeem(api, member_id, "checkout-1", {"reward_id": "5-off"})

    assert answer.status_code == 409 and answer.json()["error"] == "insufficient_points"
    assert balance(api, member_id) == {"available": 50, "pending": 0}
    history = api.get(f"/api/v1/members/{member_id}/transactions").json()["transactions"]
    assert [t["kind"] for t in history] == ["earn"]


def test_a_redemption_needs_an_idempotency_key(api: Any) -> None:
    member_id = place(api, "1001")["member_id"]

    answer = api.post(f"/api/v1/members/{member_id}/redemptions", json={"reward_id": "5-off"})

    assert answer.status_code == 422 and answer.json()["field"] == "header.Idempotency-Key"


def test_an_unknown_reward_is_404(api: Any) -> None:
    member_id = place(api, "1001")["member_id"]
    grant(api, member_id, 1000)

    answer = redeem(api, member_id, "k", {"reward_id": "no-such-reward"})

    assert answer.status_code == 404 and answer.json()["error"] == "reward_not_found"


def test_the_catalog_lists_every_reward_and_a_member_sees_what_their_tier_allows(api: Any) -> None:
    member_id = place(api, "1001")["member_id"]

    catalog = api.get("/api/v1/rewards").json()["rewards"]
    mine = api.get(f"/api/v1/members/{member_id}/rewards").json()["rewards"]

    assert [r["id"] for r in catalog] == ["5-off", "gold-mug"]
    assert catalog[0] == {"id": "5-off", "name": "$5 off", "kind": "fixed_amount", "points": 500, "value": "5.00",
                          "currency": "USD", "min_points": None, "max_points": None, "step": 1, "tiers": [],
                          "limit_per_member": None, "product_id": None, "min_order": None}
    assert catalog[1]["tiers"] == ["gold"]
    assert [r["id"] for r in mine] == ["5-off"]


# -- adjustments and activities ---------------------------------------------------------------


@pytest.mark.parametrize("body", [{"points": 10}, {"points": 10, "reason": ""}, {"points": 10, "reason": "   "}],
                         ids=["missing", "empty", "blank"])
def test_an_adjustment_needs_a_reason(api: Any, body: dict[str, Any]) -> None:
    member_id = place(api, "1001")["member_id"]

    answer = api.post(f"/api/v1/members/{member_id}/adjustments", json=body)

    assert answer.status_code == 422 and answer.json()["field"] == "body.reason"
    assert balance(api, member_id)["available"] == 50


@pytest.mark.parametrize("points", [0, 1.5, "10", True], ids=["zero", "float", "string", "bool"])
def test_adjustment_points_are_a_non_zero_integer(api: Any, points: Any) -> None:
    member_id = place(api, "1001")["member_id"]

    answer = api.post(f"/api/v1/members/{member_id}/adjustments", json={"points": points, "reason": "x"})

    assert answer.status_code == 422 and answer.json()["field"] == "body.points"


def test_an_adjustment_removes_points_but_never_below_what_is_available(api: Any) -> None:
    member_id = place(api, "1001")["member_id"]

    removed = api.post(f"/api/v1/members/{member_id}/adjustments", json={"points": -20, "reason": "typo"})
    too_much = api.post(f"/api/v1/members/{member_id}/adjustments", json={"points": -31, "reason": "typo"})

    assert removed.status_code == 201 and removed.json()["balance"] == {"available": 30, "pending": 0}
    assert too_much.status_code == 409 and too_much.json()["error"] == "insufficient_points"
    assert balance(api, member_id)["available"] == 30


def test_an_adjustment_with_an_idempotency_key_posts_once(api: Any) -> None:
    member_id = place(api, "1001")["member_id"]
    body = {"points": 25, "reason": "goodwill"}
    path = f"/api/v1/members/{member_id}/adjustments"

    first = api.post(path, json=body, headers={"Idempotency-Key": "ticket-77"})
    again = api.post(path, json=body, headers={"Idempotency-Key": "ticket-77"})
    other = api.post(path, json={"points": 30, "reason": "goodwill"}, headers={"Idempotency-Key": "ticket-77"})

    assert first.json()["replayed"] is False and again.json()["replayed"] is True
    assert again.json()["transaction_id"] == first.json()["transaction_id"]
    assert other.status_code == 409 and other.json()["error"] == "idempotency_conflict"
    assert balance(api, member_id)["available"] == 75


def test_an_activity_enrolls_on_first_sight_and_earns_within_its_limit(api: Any) -> None:
    signup = {"id": "s-1", "customer": {"id": "new-1", "email": "new@example.com"}, "kind": "signup",
              "occurred_at": "2026-03-02T15:00:00Z"}

    first = api.post("/api/v1/activities", json=signup)
    replay = api.post("/api/v1/activities", json=signup)
    second = api.post("/api/v1/activities", json={**signup, "id": "s-2"})

    assert first.status_code == 200
    assert first.json()["enrolled"] is True and first.json()["points"] == 100
    assert first.json()["balance"] == {"available": 100, "pending": 0}
    assert replay.json()["replayed"] is True and replay.json()["enrolled"] is False
    assert second.json()["points"] == 0 and second.json()["transaction_id"] is None  # once per lifetime
    assert balance(api, first.json()["member_id"])["available"] == 100


def test_an_activity_payload_that_cannot_be_stored_is_422(api: Any) -> None:
    answer = api.post("/api/v1/activities", json={"customer": {"id": "c1"}, "kind": "signup",
                                                  "occurred_at": "2026-03-02T15:00:00Z", "payload": {"n": 2**70}})

    assert answer.status_code == 422 and answer.json()["field"] == "body.payload"
    assert api.get("/api/v1/members", params={"customer_id": "c1"}).json() == {"members": []}


# -- refunds and cancellations -------------------------------------------------------------------


def test_a_refund_takes_back_in_proportion_and_a_replay_changes_nothing(api: Any) -> None:
    member_id = place(api, "1001", quantity=2)["member_id"]
    refund = {"id": "r-1", "refunded_at": "2026-03-03T10:00:00Z", "lines": [{"line_id": "1001-1", "quantity": 1}]}

    first = api.post("/api/v1/orders/1001/refunds", json=refund)
    again = api.post("/api/v1/orders/1001/refunds", json=refund)

    assert first.status_code == 200
    assert first.json()["taken_back"] == 25 and first.json()["balance"] == {"available": 25, "pending": 0}
    assert again.json()["replayed"] is True and again.json()["taken_back"] == 25
    assert balance(api, member_id)["available"] == 25
    history = api.get(f"/api/v1/members/{member_id}/transactions").json()["transactions"]
    assert [(t["kind"], t["points"], t["order_id"]) for t in history] == [("clawback", -25, "1001"),
                                                                          ("earn", 50, "1001")]


def test_a_refund_naming_another_order_in_its_body_is_422(api: Any) -> None:
    place(api, "1001")

    answer = api.post("/api/v1/orders/1001/refunds", json={"id": "r-1", "order_id": "1002", "currency": "USD",
                                                           "refunded_at": "2026-03-03T10:00:00Z", "amount": "5.00"})

    assert answer.status_code == 422 and answer.json()["field"] == "order_id"


def test_a_refund_of_an_unknown_order_is_404(api: Any) -> None:
    answer = api.post("/api/v1/orders/nope/refunds", json={"id": "r-1", "refunded_at": "2026-03-03T10:00:00Z",
                                                           "currency": "USD", "amount": "5.00"})

    assert answer.status_code == 404 and answer.json()["error"] == "order_not_found"


def test_a_cancellation_takes_back_the_rest_once(api: Any) -> None:
    member_id = place(api, "1001")["member_id"]
    api.post("/api/v1/orders/1001/refunds", json={"id": "r-1", "refunded_at": "2026-03-03T10:00:00Z",
                                                  "lines": [{"line_id": "1001-1", "quantity": 1}]})

    cancelled = api.post("/api/v1/orders/1001/cancellation", json={"reason": "fraud", "cancelled_at": "2026-03-04T10:00:00Z"})
    again = api.post("/api/v1/orders/1001/cancellation")

    assert cancelled.status_code == 200 and cancelled.json()["taken_back"] == 25
    assert again.json()["replayed"] is True
    assert balance(api, member_id)["available"] == 0
    history = api.get(f"/api/v1/members/{member_id}/transactions").json()["transactions"]
    assert history[0]["kind"] == "cancel" and "fraud" in history[0]["reason"]


# -- the program -----------------------------------------------------------------------------------


def test_the_program_is_json_with_decimals_as_strings(api: Any) -> None:
    answer = api.get("/api/v1/program")

    assert answer.status_code == 200
    program = answer.json()
    assert program["program"]["name"] == "Test Rewards" and program["program"]["point_value"] == "0.01"
    assert program["earn"]["points_per_unit"] == "1" and program["earn"]["pending_days"] == 0
    assert [(t["id"], t["multiplier"]) for t in program["tiers"]["levels"]] == [("bronze", "1"), ("gold", "1.5")]
    assert [r["id"] for r in program["rewards"]] == ["5-off", "gold-mug"]
    assert program["shop"]["id"] == SHOP and len(program["version"]) == 12


def test_health_needs_no_key(client: TestClient) -> None:
    assert client.get("/api/v1/health").json() == {"status": "ok"}


def test_openapi_documents_the_answers(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()

    members = spec["paths"]["/api/v1/members"]["get"]
    assert members["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/MembersOut")
    assert members["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/Problem")
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    redemption = spec["paths"]["/api/v1/members/{member_id}/redemptions"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in redemption["parameters"])


# -- bad input never gets past validation, and never a 500 ---------------------------------------


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("get", "/api/v1/members/0", None, "path.member_id"),
    ("get", f"/api/v1/members/{2**63}", None, "path.member_id"),
    ("get", "/api/v1/members/abc", None, "path.member_id"),
    ("get", "/api/v1/members/1/transactions?limit=100000", None, "query.limit"),
    ("get", f"/api/v1/members?customer_id={'x' * 256}", None, "query.customer_id"),
    ("post", "/api/v1/orders", {**order_document("1"), "placed_at": "2026-03-02T15:00:00"}, "body.placed_at"),
    ("post", "/api/v1/orders", {**order_document("1"), "placed_at": "9999-12-31T23:59:59Z"}, "body.placed_at"),
    ("post", "/api/v1/orders", {**order_document("1"), "placed_at": "0001-01-01T00:00:00+14:00"}, "body.placed_at"),
    ("post", "/api/v1/orders", {**order_document("1"), "lines": [
        {"id": "l", "quantity": 1, "unit_price": 19.99}]}, "body.lines.0.unit_price"),
    ("post", "/api/v1/orders", {**order_document("1"), "lines": [
        {"id": "l", "quantity": 1_000_000, "unit_price": "999999999999999"}]}, "body"),
    ("post", "/api/v1/orders", {**order_document("1"), "currency": "ZZZ"}, "body.currency"),
    ("post", "/api/v1/orders/1/cancellation", {"cancelled_at": "9999-12-31T23:59:59-12:00"}, "body.cancelled_at"),
    ("post", "/api/v1/members", {"customer_id": "a\u0000b"}, "body"),
    ("get", "/api/v1/members?email=a%00b@example.com", None, "url"),
])
def test_bad_input_is_422_naming_the_field(api: Any, method: str, path: str, body: Any, field: str) -> None:
    answer = api.post(path, json=body) if method == "post" else api.get(path)

    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert api.get("/api/v1/members", params={"customer_id": "c1"}).json() == {"members": []}


def test_malformed_json_is_422(api: Any) -> None:
    answer = api.post("/api/v1/orders", content=b"{not json", headers={"content-type": "application/json"})

    assert answer.status_code == 422 and answer.json()["error"] == "invalid_request"


# -- keys -------------------------------------------------------------------------------------------


def test_without_a_key_it_is_401_with_a_bearer_challenge(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, bearer("lk_not-a-real-key"), bearer("nonsense")):
        answer = client.get("/api/v1/members", params={"customer_id": "c1"}, headers=headers)
        assert answer.status_code == 401, headers
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.json()["error"] == "unauthorized"


def test_a_read_key_reads_but_cannot_write(client: TestClient, api: Any, read_key: str) -> None:
    member_id = place(api, "1001")["member_id"]

    read = client.get(f"/api/v1/members/{member_id}", headers=bearer(read_key))
    write = client.post(f"/api/v1/members/{member_id}/adjustments", json={"points": 10, "reason": "x"},
                        headers=bearer(read_key))

    assert read.status_code == 200
    assert write.status_code == 403 and write.json()["error"] == "insufficient_scope"
    assert balance(api, member_id)["available"] == 50


def test_the_admin_key_names_the_shop(client: TestClient, api: Any) -> None:
    member_id = place(api, "1001")["member_id"]

    named = client.get(f"/api/v1/members/{member_id}", params={"shop": SHOP}, headers=bearer(ADMIN_KEY))
    default = client.get(f"/api/v1/members/{member_id}", headers=bearer(ADMIN_KEY))
    unknown = client.get(f"/api/v1/members/{member_id}", params={"shop": "nowhere.example"},
                         headers=bearer(ADMIN_KEY))

    assert named.status_code == 200 and named.json()["customer_id"] == "c1"
    assert default.status_code == 404 and default.json()["error"] == "member_not_found"  # the `default` shop
    assert unknown.status_code == 404 and unknown.json()["error"] == "shop_not_found"


def test_a_shop_key_may_name_its_own_shop(client: TestClient, write_key: str) -> None:
    answer = client.get("/api/v1/program", params={"shop": SHOP}, headers=bearer(write_key))

    assert answer.status_code == 200 and answer.json()["shop"]["id"] == SHOP


def test_a_revoked_key_stops_working(client: TestClient, runtime: Runtime) -> None:
    key, info = auth.create_key(runtime.db, SHOP, "read")
    assert client.get("/api/v1/program", headers=bearer(key)).status_code == 200

    revoked = auth.revoke_key(runtime.db, info["id"])

    assert revoked["revoked_at"] is not None
    assert client.get("/api/v1/program", headers=bearer(key)).status_code == 401


def test_a_key_revoked_by_another_process_stops_working_once_the_cache_lapses(
        client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(auth, "_monotonic", lambda: now[0])
    key, info = auth.create_key(runtime.db, SHOP, "read")
    assert client.get("/api/v1/program", headers=bearer(key)).status_code == 200
    with runtime.db.begin() as conn:  # what `loyalty apikey revoke` in another process does
        conn.execute(api_keys.update().where(api_keys.c.id == info["id"]).values(revoked_at=runtime.now()))

    now[0] += auth.CACHE_SECONDS

    assert client.get("/api/v1/program", headers=bearer(key)).status_code == 401


def test_keys_are_stored_hashed_and_listed_without_secrets(runtime: Runtime) -> None:
    key, info = auth.create_key(runtime.db, SHOP, "write", label="checkout")

    assert key.startswith("lk_") and len(key) > 40
    assert info["shop_id"] == SHOP and info["scope"] == "write" and info["label"] == "checkout"
    assert key.startswith(info["prefix"]) and len(info["prefix"]) < 16
    with runtime.db.connect() as conn:
        stored = [str(value) for row in conn.execute(select(api_keys)) for value in row]
        dumped = " ".join(str(v) for v in conn.execute(text("SELECT * FROM api_keys")).all())
    assert not any(key in value for value in stored) and key not in dumped
    listed = auth.list_keys(runtime.db, SHOP)
    assert [k["id"] for k in listed] == [info["id"]]
    assert "digest" not in listed[0] and key not in repr(listed)


def test_create_key_checks_shop_and_scope(runtime: Runtime) -> None:
    with pytest.raises(ShopNotFound):
        auth.create_key(runtime.db, "nowhere.example", "read")
    with pytest.raises(InvalidInput) as refused:
        auth.create_key(runtime.db, SHOP, "admin")
    assert refused.value.field == "scope"


def test_revoking_an_unknown_key_or_another_shops_key_is_not_found(runtime: Runtime) -> None:
    _, info = auth.create_key(runtime.db, SHOP, "read")

    with pytest.raises(auth.ApiKeyNotFound):
        auth.revoke_key(runtime.db, info["id"] + 100)
    with pytest.raises(auth.ApiKeyNotFound):
        auth.revoke_key(runtime.db, info["id"], shop_id="default")
    assert auth.list_keys(runtime.db, SHOP, include_revoked=False)[0]["revoked_at"] is None


def test_redacting_a_member_erases_who_they_were_and_keeps_the_books(api: Any, runtime: Any) -> None:
    from sqlalchemy import select

    from loyalty_sdk.core.storage import outbox

    placed = api.post("/api/v1/orders", json=order_document("7001", "c-forget", email="forget@example.com"))
    member_id = placed.json()["member_id"]
    erased = api.delete(f"/api/v1/members/{member_id}")
    assert erased.status_code == 200 and erased.json() == {"member_id": member_id, "redacted": True}
    shown = api.get(f"/api/v1/members/{member_id}").json()
    assert (shown["customer_id"], shown["email"]) == (None, None)
    assert sum(shown["balance"].values()) == placed.json()["points"] == 50  # the ledger is untouched
    assert api.get("/api/v1/members", params={"email": "forget@example.com"}).json() == {"members": []}
    assert api.delete(f"/api/v1/members/{member_id}").json()["redacted"] is False  # once
    with runtime.db.connect() as conn:
        events = conn.execute(select(outbox.c.payload).where(outbox.c.kind == "member_redacted")).scalars().all()
    assert [e["customer_id"] for e in events] == ["c-forget"]
