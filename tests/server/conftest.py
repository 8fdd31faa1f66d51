"""Server fixtures: a Runtime on the test's database (SQLite and PostgreSQL), a registered
custom shop, and an in-process HTTP client (no embedded worker: tests drive workers)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from loyalty_sdk.server.custom import sign, webhook_secret
from loyalty_sdk.server.runtime import Runtime
from loyalty_sdk.settings import Settings
from loyalty_sdk.testing import serving

SECRET_KEY = "test-secret-key-not-for-production"
ADMIN_KEY = "test-admin-key-0123456789abcdef"
SHOP = "north.example"


@pytest.fixture
def runtime(database_url: str, program: Any, clock: Any) -> Iterator[Runtime]:
    settings = Settings(database_url=database_url, secret_key=SECRET_KEY, api_key=ADMIN_KEY)
    with Runtime(settings, program=program, clock=clock, entry_points=False) as runtime:
        runtime.add_shop(SHOP, "custom")
        yield runtime


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with serving(runtime) as client:
        yield client


def signed_headers(body: bytes, topic: str, delivery: str, shop: str = SHOP,
                   at: int | None = None) -> dict[str, str]:
    """Headers a custom store sends with ``body``."""
    secret = webhook_secret(SECRET_KEY, shop)
    return {"content-type": "application/json", "x-loyalty-topic": topic, "x-loyalty-delivery": delivery,
            "x-loyalty-signature": sign(secret, body, int(time.time()) if at is None else at)}


@pytest.fixture
def push(client: TestClient) -> Callable[..., Any]:
    """``push(topic, document, delivery=..., shop=...)``: a signed custom webhook."""

    def send(topic: str, document: dict[str, Any], delivery: str, shop: str = SHOP) -> Any:
        body = orjson.dumps(document)
        return client.post(f"/webhooks/custom/{shop}", content=body, headers=signed_headers(body, topic, delivery, shop))

    return send


def order_document(order_id: str, customer: str = "c1", amount: str = "25.00", quantity: int = 2,
                   at: str = "2026-03-02T15:00:00Z", email: str | None = None) -> dict[str, Any]:
    """An ``orders/paid`` document: one line of ``quantity`` at ``amount``."""
    document: dict[str, Any] = {
        "id": order_id, "customer": {"id": customer}, "placed_at": at, "currency": "USD",
        "lines": [{"id": f"{order_id}-1", "quantity": quantity, "unit_price": amount, "product_id": "p1"}],
    }
    if email:
        document["customer"]["email"] = email
    return document
