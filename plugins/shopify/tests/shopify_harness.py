"""Shared by the Shopify plugin's tests: the app secret, the shop, and signed headers."""

from __future__ import annotations

import json
import uuid
from typing import Any

from loyalty_shopify.verify import webhook_signature

from loyalty_sdk.server.runtime import Runtime
from loyalty_sdk.testing import StandIn

API_KEY = "test-client-id"
SECRET_KEY = "test-secret-key-for-sealing-tokens"
APP_SECRET = "shpss_test_app_secret_not_for_production"
SHOP = "jon-doe.myshopify.com"
PROGRAM = {
    "earn": {"points_per_unit": 1, "rounding": "floor", "pending_days": 0},
    "clawback": {"spent_points": "negative", "max_negative": 1000},
    "rewards": [{"id": "5-off", "name": "$5 off", "kind": "fixed_amount", "points": 500, "value": "5.00"}],
}
"""1 point per whole unit, available at once (so balances show each effect), refunds of spent
points may run a balance negative, and one reward to spend on."""


def shopify_headers(body: bytes, topic: str, *, shop: str = SHOP, event_id: str | None = None,
                    webhook_id: str | None = None, secret: str = APP_SECRET) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": shop,
               "X-Shopify-API-Version": "2025-10", "X-Shopify-Hmac-Sha256": webhook_signature(secret, body),
               "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
               "X-Shopify-Triggered-At": "2026-03-02T15:00:00.000000000Z"}
    if event_id is not None:
        headers["X-Shopify-Event-Id"] = event_id
    return headers


def points(runtime: Runtime, ref: str) -> tuple[int, int]:
    """(available, pending) of the member ``ref`` in the Shopify shop."""
    balance = runtime.loyalty(SHOP).balance(ref)
    return balance.available, balance.pending


class FakeAdmin:
    """A stand-in for a shop's Admin API on 127.0.0.1: the token exchange and GraphQL."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.down = False
        self.refusals: list[str] = []
        """User errors the next discount mutations answer, one per call, in turn."""
        self.stand_in = StandIn(self._answer)
        self.url = self.stand_in.url

    def _answer(self, path: str, raw: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        body = json.loads(raw)
        self.calls.append((path, {**body, "token": headers.get("x-shopify-access-token")}))
        query = body.get("query", "")
        if self.down:
            return 503, {"errors": "unavailable"}
        if path == "/admin/oauth/access_token":
            return 200, {"access_token": "shpat_secret_token", "scope": "read_orders,write_discounts"}
        if "shop" in query and "mutation" not in query:
            return 200, {"data": {"shop": {"currencyCode": "EUR", "ianaTimezone": "Europe/Paris"}}}
        if "codeDiscountNodeByCode" in query:
            return 200, {"data": {"codeDiscountNodeByCode": {
                "id": f"gid://shopify/DiscountCodeNode/{body['variables']['code']}"}}}
        if "discountCodeDeactivate" in query:
            return 200, {"data": {"discountCodeDeactivate": {"userErrors": []}}}
        if "discountCode" in query:
            field = "discountCodeFreeShippingCreate" if "FreeShipping" in query else "discountCodeBasicCreate"
            errors = [{"field": ["code"], "code": "TAKEN", "message": self.refusals.pop(0)}] if self.refusals else []
            node = None if errors else {"id": "gid://shopify/DiscountCodeNode/1"}
            return 200, {"data": {field: {"codeDiscountNode": node, "userErrors": errors}}}
        return 200, {"data": {"webhookSubscriptionCreate": {
            "webhookSubscription": {"id": f"gid://shopify/WebhookSubscription/{len(self.calls)}"},
            "userErrors": []}}}
