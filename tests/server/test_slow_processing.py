"""Platforms wait for their answer (Shopify gives up after 5 s): it never waits for processing.
A rule stuck on the first delivery holds up neither that delivery's answer nor the next."""

from __future__ import annotations

import threading

import orjson
from fastapi.testclient import TestClient

from loyalty_sdk.core.hookspecs import hookimpl
from loyalty_sdk.server.app import create_app
from loyalty_sdk.server.runtime import Runtime
from loyalty_sdk.server.worker import WorkerOptions
from loyalty_sdk.settings import Settings

from .conftest import ADMIN_KEY, SECRET_KEY, SHOP, order_document, signed_headers


class StuckRule:
    """Blocks the worker inside the rules until the test lets it go."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    @hookimpl
    def loyalty_order_awards(self, order, member, program):
        self.entered.set()
        assert self.release.wait(60), "the test never released the rule"
        return []


def test_webhooks_are_answered_while_processing_is_stuck(tmp_path):
    rule = StuckRule()
    runtime = Runtime(Settings(database_url=f"sqlite:///{tmp_path}/l.db", secret_key=SECRET_KEY, api_key=ADMIN_KEY),
                      plugins=[rule], entry_points=False)
    runtime.add_shop(SHOP, "custom")
    app = create_app(runtime, embedded=True, worker_options=WorkerOptions(idle_wait=0.01))
    try:
        with TestClient(app) as client:
            def post(order_id: str) -> int:
                body = orjson.dumps(order_document(order_id))
                return client.post(f"/webhooks/custom/{SHOP}", content=body,
                                   headers=signed_headers(body, "orders/paid", f"d-{order_id}")).status_code

            assert post("1001") == 200
            assert rule.entered.wait(30), "the embedded worker never picked the delivery up"
            # The worker is stuck inside the rules on 1001: deliveries are still answered.
            assert post("1002") == 200
            assert post("1003") == 200
            rule.release.set()
    finally:
        rule.release.set()
        runtime.close()
