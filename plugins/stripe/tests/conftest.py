"""A loyalty server with the Stripe plugin loaded from its entry point, and signed events."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from stripe_events import WEBHOOK_SECRET, signed

from loyalty_sdk.server.runtime import Runtime
from loyalty_sdk.server.worker import Worker
from loyalty_sdk.settings import Settings
from loyalty_sdk.testing import serving

PROGRAM = {
    "earn": {"points_per_unit": 1, "rounding": "floor", "pending_days": 0, "rates": {"JPY": "0.01"}},
    "rewards": [{"id": "5-off", "name": "$5 off", "kind": "fixed_amount", "points": 50, "value": "5.00"}],
}


@pytest.fixture(autouse=True)
def webhook_secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LOYALTY_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    return WEBHOOK_SECRET


@pytest.fixture
def runtime(loyalty_database_url: str) -> Iterator[Runtime]:
    with Runtime(Settings(database_url=loyalty_database_url), program=PROGRAM) as runtime:
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
