"""Tenancy over HTTP: a key of shop A reads and changes nothing of shop B, on every route.

Every route of the REST API router is a parameter, and every route needs a case below: a new
route without one fails ``test_every_route_has_a_tenancy_case``, and with one it is tried with
shop A's key against shop B's member, order and identities. Each case is also sent with B's own
key afterwards, so the request is known to be one that works: the refusal comes from scoping.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from attrs import frozen
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from loyalty_sdk.core.program import default_program_text
from loyalty_sdk.core.storage import entries, lots, members, orders, redemptions, transactions
from loyalty_sdk.server import analytics_api, api, auth, referrals_api, segments_api
from loyalty_sdk.server.app import create_app
from loyalty_sdk.server.runtime import Runtime

from .conftest import ADMIN_KEY, SHOP, order_document

OTHER = "south.example"
B_NAME = "Bee Secret-Name"
B_EMAIL = "bee.secret@south.example"
B_CUSTOMER = "b-customer-7"
B_ORDER = "b-order-1"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def program() -> dict[str, Any]:
    """The built-in program with referrals on, so the referral routes work for a shop's own key."""
    return {**tomllib.loads(default_program_text(), parse_float=Decimal),
            "referrals": {"referee_points": 100, "referrer_points": 200}}


@frozen
class World:
    a_write: str
    a_read: str
    b_write: str
    a_member: int
    b_member: int
    b_code: str
    b_referral: str


@pytest.fixture
def world(runtime: Runtime, client: TestClient) -> World:
    """Shops A (``SHOP``) and B (``OTHER``), each with a member who ordered, got points and
    redeemed some; keys for both."""
    runtime.add_shop(OTHER, "custom")
    a_write = auth.create_key(runtime.db, SHOP, "write")[0]
    a_read = auth.create_key(runtime.db, SHOP, "read")[0]
    b_write = auth.create_key(runtime.db, OTHER, "write")[0]
    a_member = _seed(client, a_write, "a-customer", "a-order-1", "a@north.example", "A Person")[0]
    b_member, b_code = _seed(client, b_write, B_CUSTOMER, B_ORDER, B_EMAIL, B_NAME)
    assert a_member != b_member
    b_referral = client.get(f"/api/v1/members/{b_member}/referral", headers=bearer(b_write)).json()["code"]
    return World(a_write, a_read, b_write, a_member, b_member, b_code, b_referral)


def _seed(client: TestClient, key: str, customer: str, order_id: str, email: str, name: str) -> tuple[int, str]:
    document = order_document(order_id, customer, email=email)
    document["customer"]["name"] = name
    member_id = client.post("/api/v1/orders", json=document, headers=bearer(key)).json()["member_id"]
    granted = client.post(f"/api/v1/members/{member_id}/adjustments", json={"points": 5000, "reason": "seed"},
                          headers=bearer(key))
    assert granted.status_code == 201, granted.text
    redeemed = client.post(f"/api/v1/members/{member_id}/redemptions", json={"reward_id": "5-off"},
                           headers={**bearer(key), "Idempotency-Key": "seed"})
    assert redeemed.status_code == 201, redeemed.text
    return member_id, redeemed.json()["code"]


def snapshot(runtime: Runtime, shop_id: str) -> list[Any]:
    """Every ledger row of one shop."""
    with runtime.db.connect() as conn:
        return [conn.execute(select(table).where(table.c.shop_id == shop_id).order_by(table.c.id)).all()
                for table in (members, transactions, entries, lots, orders, redemptions)]


# -- one case per route ------------------------------------------------------------------------------


@frozen
class Call:
    """A request aimed at shop B's data; ``targets_b``: its path names B's member or order, so
    A's key must get a 404; otherwise ``check`` says what A's answer must be. ``control``: the
    status B's own key gets (0: any success)."""

    method: str
    path: str
    params: dict[str, str] | None = None
    json: Any = None
    headers: dict[str, str] | None = None
    targets_b: bool = True
    check: Callable[[Any], None] | None = None
    control: int = 0

    def send(self, client: TestClient, key: str, **params: str) -> Any:
        return client.request(self.method, self.path, params={**(self.params or {}), **params}, json=self.json,
                              headers={**bearer(key), **(self.headers or {})})


def _empty_lookup(answer: Any) -> None:
    assert answer.status_code == 200 and answer.json() == {"members": []}


def _own_shop(answer: Any) -> None:
    assert answer.status_code < 300
    if "shop" in answer.json():
        assert answer.json()["shop"]["id"] == SHOP


def _acts_in_own_shop(answer: Any) -> None:
    # B's customer identity, sent with A's key, is a customer of A: a new member there.
    assert answer.status_code < 300, answer.text


REFUND = {"id": "refund-1", "refunded_at": "2026-03-03T10:00:00Z", "lines": [{"line_id": f"{B_ORDER}-1",
                                                                             "quantity": 1}]}
CASES: dict[tuple[str, str], Callable[[World], Call]] = {
    ("GET", "/api/v1/health"): lambda w: Call("GET", "/api/v1/health", targets_b=False, check=_own_shop),
    ("GET", "/api/v1/members"): lambda w: Call("GET", "/api/v1/members", {"email": B_EMAIL}, targets_b=False,
                                               check=_empty_lookup),
    # A enrolls its own customer of that id, while in B the id is taken (409).
    ("POST", "/api/v1/members"): lambda w: Call("POST", "/api/v1/members", json={"customer_id": B_CUSTOMER},
                                                targets_b=False, check=_acts_in_own_shop, control=409),
    ("GET", "/api/v1/members/{member_id}"): lambda w: Call("GET", f"/api/v1/members/{w.b_member}"),
    ("DELETE", "/api/v1/members/{member_id}"): lambda w: Call("DELETE", f"/api/v1/members/{w.b_member}"),
    ("GET", "/api/v1/members/{member_id}/balance"): lambda w: Call("GET", f"/api/v1/members/{w.b_member}/balance"),
    ("GET", "/api/v1/members/{member_id}/transactions"):
        lambda w: Call("GET", f"/api/v1/members/{w.b_member}/transactions"),
    ("GET", "/api/v1/members/{member_id}/lots"): lambda w: Call("GET", f"/api/v1/members/{w.b_member}/lots"),
    ("GET", "/api/v1/members/{member_id}/rewards"): lambda w: Call("GET", f"/api/v1/members/{w.b_member}/rewards"),
    ("POST", "/api/v1/members/{member_id}/redemptions"):
        lambda w: Call("POST", f"/api/v1/members/{w.b_member}/redemptions", json={"reward_id": "5-off"},
                       headers={"Idempotency-Key": "tenancy-1"}),
    ("POST", "/api/v1/members/{member_id}/adjustments"):
        lambda w: Call("POST", f"/api/v1/members/{w.b_member}/adjustments", json={"points": -100, "reason": "x"}),
    ("POST", "/api/v1/activities"):
        lambda w: Call("POST", "/api/v1/activities", json={"customer": {"id": B_CUSTOMER}, "kind": "signup",
                                                           "occurred_at": "2026-03-02T15:00:00Z"},
                       targets_b=False, check=_acts_in_own_shop),
    ("POST", "/api/v1/orders"):
        lambda w: Call("POST", "/api/v1/orders", json=order_document(B_ORDER, B_CUSTOMER, amount="99.00"),
                       targets_b=False, check=_acts_in_own_shop, control=409),
    ("POST", "/api/v1/orders/{order_id}/refunds"): lambda w: Call("POST", f"/api/v1/orders/{B_ORDER}/refunds",
                                                                  json=REFUND),
    ("POST", "/api/v1/orders/{order_id}/cancellation"):
        lambda w: Call("POST", f"/api/v1/orders/{B_ORDER}/cancellation", json={"reason": "tenancy"}),
    ("GET", "/api/v1/rewards"): lambda w: Call("GET", "/api/v1/rewards", targets_b=False, check=_own_shop),
    ("GET", "/api/v1/program"): lambda w: Call("GET", "/api/v1/program", targets_b=False, check=_own_shop),
}



def _own_figures(answer: Any) -> None:
    # Analytics of A's shop only: B's members, orders and id never appear (assert_no_leak).
    assert answer.status_code == 200, answer.text
    assert answer.json().get("shop_id", SHOP) == SHOP


for _route in analytics_api.router.routes:
    CASES[("GET", _route.path)] = (lambda path: lambda w: Call("GET", path, targets_b=False,
                                                                check=_own_figures))(_route.path)

# Segments list A's members only: B's, who would qualify too, never appear (assert_no_leak).
CASES[("GET", "/api/v1/segments")] = lambda w: Call("GET", "/api/v1/segments", targets_b=False, check=_own_figures)
CASES[("GET", "/api/v1/segments/{name}")] = lambda w: Call("GET", "/api/v1/segments/never-redeemed",
                                                             targets_b=False, check=_own_figures)

# Referrals: B's member's code is unknown in A (a friend signing up with it in A is refused),
# and A's list holds A's referrals only.
CASES[("GET", "/api/v1/members/{member_id}/referral")] = lambda w: Call(
    "GET", f"/api/v1/members/{w.b_member}/referral")
CASES[("POST", "/api/v1/referrals")] = lambda w: Call(
    "POST", "/api/v1/referrals", json={"code": w.b_referral, "customer": {"id": "friend-1"}})
CASES[("GET", "/api/v1/referrals")] = lambda w: Call("GET", "/api/v1/referrals", targets_b=False, check=_own_figures)

ROUTES = sorted((method, route.path) for route in (*api.router.routes, *analytics_api.router.routes,
                                                   *segments_api.router.routes, *referrals_api.router.routes)
                if isinstance(route, APIRoute) for method in route.methods)
PUBLIC = {("GET", "/api/v1/health")}


def case(route: tuple[str, str], world: World) -> Call:
    build = CASES.get(route)
    if build is None:
        pytest.fail(f"{route[0]} {route[1]} has no tenancy case: add one to CASES in {__name__}")
    return build(world)


def assert_control(call: Call, answer: Any) -> None:
    if call.control:
        assert answer.status_code == call.control, answer.text
    else:
        assert answer.status_code < 300, answer.text


def assert_no_leak(answer: Any, world: World) -> None:
    for secret in (B_NAME, B_EMAIL, world.b_code, OTHER):
        assert secret not in answer.text, f"shop B's {secret!r} leaked: {answer.text}"


# -- the tests -----------------------------------------------------------------------------------


def test_every_route_has_a_tenancy_case(runtime: Runtime) -> None:
    paths = create_app(runtime, embedded=False).openapi()["paths"]
    served = {(method.upper(), path) for path, operations in paths.items() if path.startswith("/api/")
              for method in operations}

    assert served == set(ROUTES)
    assert sorted(set(ROUTES) - set(CASES)) == []


@pytest.mark.parametrize("route", ROUTES, ids=" ".join)
def test_shop_a_key_cannot_reach_shop_b(runtime: Runtime, client: TestClient, world: World,
                                        route: tuple[str, str]) -> None:
    call = case(route, world)
    before = snapshot(runtime, OTHER)

    answer = call.send(client, world.a_write)

    assert snapshot(runtime, OTHER) == before
    assert answer.status_code != 500
    assert_no_leak(answer, world)
    if call.targets_b:
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"] in ("member_not_found", "order_not_found", "referral_code_not_found")
    else:
        assert call.check is not None
        call.check(answer)
    # The same request with B's own key gets through: A's 404 came from scoping.
    assert_control(call, call.send(client, world.b_write))


@pytest.mark.parametrize("route", sorted(set(ROUTES) - PUBLIC), ids=" ".join)
@pytest.mark.parametrize("key", ["a_write", "a_read"])
def test_a_shop_key_naming_another_shop_is_403(runtime: Runtime, client: TestClient, world: World,
                                               route: tuple[str, str], key: str) -> None:
    call = case(route, world)
    before = snapshot(runtime, OTHER)

    answer = call.send(client, getattr(world, key), shop=OTHER)

    assert answer.status_code == 403, answer.text
    assert answer.json()["error"] == "forbidden"
    assert_no_leak(answer, world)
    assert snapshot(runtime, OTHER) == before
    # The admin key may name B; the request is a good one.
    assert_control(call, call.send(client, ADMIN_KEY, shop=OTHER))


@pytest.mark.parametrize("route", sorted(set(ROUTES) - PUBLIC), ids=" ".join)
def test_every_route_needs_a_key(client: TestClient, runtime: Runtime, world: World, route: tuple[str, str]) -> None:
    call = case(route, world)
    before = snapshot(runtime, OTHER), snapshot(runtime, SHOP)

    answer = client.request(call.method, call.path, params=call.params, json=call.json, headers=call.headers)

    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
    assert_no_leak(answer, world)
    assert (snapshot(runtime, OTHER), snapshot(runtime, SHOP)) == before


@pytest.mark.parametrize("route", [r for r in ROUTES if r[0] != "GET"], ids=" ".join)
def test_a_read_key_cannot_change_anything(client: TestClient, runtime: Runtime, world: World,
                                           route: tuple[str, str]) -> None:
    call = case(route, world)
    own = Call(call.method, route[1].format(member_id=world.a_member, order_id="a-order-1"), call.params, call.json,
               call.headers)
    before = snapshot(runtime, SHOP)

    answer = own.send(client, world.a_read)

    assert answer.status_code == 403 and answer.json()["error"] == "insufficient_scope"
    assert snapshot(runtime, SHOP) == before


def test_the_admin_key_reaches_a_shop_only_when_it_names_it(client: TestClient, world: World) -> None:
    path = f"/api/v1/members/{world.b_member}"

    assert client.get(path, params={"shop": OTHER}, headers=bearer(ADMIN_KEY)).json()["name"] == B_NAME
    assert client.get(path, params={"shop": SHOP}, headers=bearer(ADMIN_KEY)).status_code == 404
    assert client.get(path, headers=bearer(ADMIN_KEY)).status_code == 404  # the `default` shop


def test_lookups_by_identity_stay_in_the_keys_shop(client: TestClient, world: World) -> None:
    by_customer = client.get("/api/v1/members", params={"customer_id": B_CUSTOMER}, headers=bearer(world.a_read))
    own = client.get("/api/v1/members", params={"customer_id": B_CUSTOMER}, headers=bearer(world.b_write))

    assert by_customer.json() == {"members": []}
    assert [m["id"] for m in own.json()["members"]] == [world.b_member]


def test_idempotency_keys_belong_to_one_shop(client: TestClient, world: World) -> None:
    # Both shops used "seed" for their first redemption; a replay in A answers A's own.
    replay = client.post(f"/api/v1/members/{world.a_member}/redemptions", json={"reward_id": "5-off"},
                         headers={**bearer(world.a_write), "Idempotency-Key": "seed"})

    assert replay.status_code == 201 and replay.json()["replayed"] is True
    assert replay.json()["member_id"] == world.a_member and replay.json()["code"] != world.b_code
