"""A loyalty server with the Shopify plugin loaded from its entry point, a registered shop,
and helpers that deliver signed webhooks the way Shopify does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from shopify_harness import API_KEY, APP_SECRET, PROGRAM, SECRET_KEY, SHOP, FakeAdmin, shopify_headers

from loyalty_sdk.server.runtime import Runtime
from loyalty_sdk.server.worker import Worker
from loyalty_sdk.settings import Settings
from loyalty_sdk.testing import serving


@pytest.fixture(autouse=True)
def app_secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LOYALTY_SHOPIFY_API_SECRET", APP_SECRET)
    return APP_SECRET


@pytest.fixture
def runtime(loyalty_database_url: str) -> Iterator[Runtime]:
    """The server's runtime on an empty ledger: SQLite, and PostgreSQL when configured."""
    with Runtime(Settings(database_url=loyalty_database_url), program=PROGRAM) as runtime:
        runtime.add_shop(SHOP, "shopify")
        yield runtime


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with serving(runtime) as client:
        yield client


@pytest.fixture
def deliver(client: TestClient) -> Callable[..., Any]:
    """``deliver(topic, document, **header_options)``: a signed Shopify webhook."""

    def send(topic: str, document: dict[str, Any], **options: Any) -> Any:
        body = orjson.dumps(document)
        return client.post("/webhooks/shopify", content=body, headers=shopify_headers(body, topic, **options))

    return send


@pytest.fixture
def process(runtime: Runtime) -> Callable[[], Any]:
    """Apply every delivery waiting in the inbox, as a worker would."""
    return lambda: Worker(runtime, name="test-worker").drain()


@pytest.fixture
def admin(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAdmin]:
    """A stand-in for the shops' Admin API, and the settings that send every call to it."""
    fake = FakeAdmin()
    monkeypatch.setenv("LOYALTY_SHOPIFY_ADMIN_URL", fake.url)
    monkeypatch.setenv("LOYALTY_SHOPIFY_API_KEY", API_KEY)
    monkeypatch.setenv("LOYALTY_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("LOYALTY_SHOPIFY_APP_URL", "https://loyalty.example")
    yield fake
    fake.stand_in.close()
