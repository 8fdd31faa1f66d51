"""Admin-page fixtures: a server runtime on the test's database (SQLite and PostgreSQL) with
two shops and a member, an in-process client, and signing in the way a browser does."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from loyalty_sdk.server.runtime import Runtime
from loyalty_sdk.settings import Settings
from loyalty_sdk.testing import serving

ADMIN_KEY = "test-admin-key-0123456789abcdef"
SHOP = "north.example"
OTHER_SHOP = "south.example"


def form_value(page: str, name: str) -> str:
    """The value of the first hidden field ``name`` in an HTML page."""
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found is not None, f"no {name} field in the page"
    return found.group(1)


@pytest.fixture
def runtime(database_url: str, clock: Any) -> Iterator[Runtime]:
    settings = Settings(database_url=database_url, secret_key="test-secret", api_key=ADMIN_KEY)
    with Runtime(settings, clock=clock, entry_points=False) as runtime:
        runtime.add_shop(SHOP, "custom")
        runtime.add_shop(OTHER_SHOP, "custom")
        runtime.loyalty(SHOP).enroll("cust-7", email="ada@example.com", name="Ada Lovelace")
        runtime.loyalty(OTHER_SHOP).enroll("cust-9", email="bob@example.com", name="Bob Other")
        yield runtime


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with serving(runtime) as client:
        yield client


@pytest.fixture
def sign_in(client: TestClient) -> Callable[..., Any]:
    """``sign_in(key=ADMIN_KEY, shop=SHOP)``: the sign-in form filled in and posted; answers
    the response (a 303 to the dashboard when it worked)."""

    def submit(key: str = ADMIN_KEY, shop: str = SHOP, next: str = "") -> Any:
        token = form_value(client.get("/admin/sign-in").text, "csrf")
        return client.post("/admin/sign-in", data={"key": key, "shop": shop, "csrf": token, "next": next},
                           follow_redirects=False)

    return submit


@pytest.fixture
def member_page(client: TestClient, runtime: Runtime) -> Callable[[], str]:
    """The signed-in member page of Ada (shop north.example)."""

    def get() -> str:
        member = runtime.loyalty(SHOP).member("cust-7")
        page = client.get(f"/admin/members/{member.id}")
        assert page.status_code == 200
        return page.text

    return get
