"""A loyalty server with the WooCommerce plugin loaded from its entry point, a registered
store connected to a fake REST API, and helpers that deliver webhooks signed as WooCommerce
signs them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from loyalty_woocommerce import connection, rewards, sync
from wc_harness import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    PROGRAM,
    SECRET_KEY,
    SHOP,
    WEBHOOK_SECRET,
    FakeStore,
    wc_headers,
    wc_json,
)

from loyalty_sdk.server.runtime import Runtime
from loyalty_sdk.server.worker import Worker
from loyalty_sdk.settings import Settings
from loyalty_sdk.testing import Clock, serving


@pytest.fixture(autouse=True)
def secret_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LOYALTY_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("LOYALTY_LOAD_PLUGINS", "woocommerce")  # this plugin alone, from its entry point
    for name in ("URL", "CONSUMER_KEY", "CONSUMER_SECRET", "WEBHOOK_SECRET"):
        monkeypatch.delenv(f"LOYALTY_WOOCOMMERCE_{name}", raising=False)
    monkeypatch.setattr(rewards.time, "sleep", lambda seconds: None)  # backoff without waiting
    return SECRET_KEY


@pytest.fixture
def store() -> Iterator[FakeStore]:
    fake = FakeStore()
    yield fake
    fake.close()


@pytest.fixture
def clock() -> Clock:
    from datetime import UTC, datetime

    return Clock(datetime(2026, 3, 6, 12, 0, tzinfo=UTC))


@pytest.fixture
def runtime(loyalty_database_url: str, store: FakeStore, clock: Clock) -> Iterator[Runtime]:
    """The server's runtime on an empty ledger (SQLite, and PostgreSQL when configured), the
    store registered and connected: its keys sealed in its settings, its REST API the fake."""
    with Runtime(Settings(database_url=loyalty_database_url), program=PROGRAM, clock=clock) as runtime:
        runtime.add_shop(SHOP, "woocommerce")
        connection.connect(runtime.db, SHOP, consumer_key=CONSUMER_KEY, consumer_secret=CONSUMER_SECRET,
                           webhook_secret=WEBHOOK_SECRET, api_url=store.url)
        runtime.forget(SHOP)
        yield runtime


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with serving(runtime) as client:
        yield client


@pytest.fixture
def deliver(client: TestClient) -> Callable[..., Any]:
    """``deliver(topic, document, **header_options)``: a webhook signed as WooCommerce signs it."""

    def send(topic: str, document: dict[str, Any], **options: Any) -> Any:
        body = wc_json(document)
        return client.post("/webhooks/woocommerce", content=body, headers=wc_headers(body, topic, **options))

    return send


@pytest.fixture
def process(runtime: Runtime) -> Callable[[], Any]:
    """Apply every delivery waiting in the inbox, as a worker would."""
    return lambda: Worker(runtime, name="test-worker").drain()


@pytest.fixture
def pull(runtime: Runtime) -> Callable[..., Any]:
    """``pull(**options)``: the sync of the store, without waiting between tries."""

    def run(**options: Any) -> sync.SyncReport:
        runtime.forget(SHOP)
        report = sync.pull(runtime.db, runtime.shop(SHOP), runtime.now(), sleep=lambda seconds: None, **options)
        runtime.forget(SHOP)
        return report

    return run
