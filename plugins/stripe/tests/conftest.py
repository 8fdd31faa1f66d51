"""A loyalty server with the Stripe plugin loaded from its entry point, and signed events."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from loyalty_stripe import rewards
from stripe_api import FakeStripe
from stripe_events import WEBHOOK_SECRET, signed
from stripe_program import PROGRAM

from loyalty_sdk.server.runtime import Runtime
from loyalty_sdk.server.worker import Worker
from loyalty_sdk.settings import Settings
from loyalty_sdk.testing import Clock, serving


@pytest.fixture(autouse=True)
def webhook_secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LOYALTY_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    return WEBHOOK_SECRET


@pytest.fixture
def program() -> dict[str, Any]:
    """The program the server runs; a test module overrides it for its own rules."""
    return PROGRAM


@pytest.fixture
def clock() -> Clock:
    """The server's clock, from now (signatures are checked against the real time)."""
    return Clock(datetime.now(UTC))


@pytest.fixture
def runtime(loyalty_database_url: str, program: dict[str, Any], clock: Clock) -> Iterator[Runtime]:
    with Runtime(Settings(database_url=loyalty_database_url), program=program, clock=clock) as runtime:
        yield runtime


@pytest.fixture
def client(runtime: Runtime) -> Iterator[Any]:
    with serving(runtime) as client:
        yield client


@pytest.fixture
def send(client: Any) -> Callable[..., Any]:
    """``send(event_document, path="/webhooks/stripe", at=None)``: a signed delivery."""

    def post(document: dict[str, Any], path: str = "/webhooks/stripe", at: int | None = None) -> Any:
        body, headers = signed(document, at=at)
        return client.post(path, content=body, headers=headers)

    return post


@pytest.fixture
def process(runtime: Runtime) -> Callable[[], Any]:
    return lambda: Worker(runtime, name="test-worker").drain()


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStripe]:
    """The plugin pointed at a local stand-in of Stripe's API, with its key set."""
    fake = FakeStripe()
    monkeypatch.setenv("LOYALTY_STRIPE_API_KEY", "sk_test_loyalty")
    monkeypatch.setenv("LOYALTY_STRIPE_API_BASE", fake.url)
    monkeypatch.setattr(rewards.time, "sleep", lambda seconds: None)
    yield fake
    fake.close()
