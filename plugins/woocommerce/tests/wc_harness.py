"""Shared by the WooCommerce plugin's tests: the store, its keys, signed headers, and a fake
store REST API (wc/v3) on 127.0.0.1 that the real ``woocommerce`` client talks to."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from loyalty_woocommerce.verify import webhook_signature

from loyalty_sdk.server.runtime import Runtime
from loyalty_sdk.testing import StandIn

SHOP = "https://shop.example/"
SECRET_KEY = "test-secret-key-for-sealing-store-keys"
WEBHOOK_SECRET = "wc&amp;secret&#039;42"
"""As WooCommerce stores it: HTML special characters encoded; it signs with ``wc&secret'42``."""
CONSUMER_KEY = "ck_0123456789abcdef"
CONSUMER_SECRET = "cs_0123456789abcdef"
PROGRAM = {
    "earn": {"points_per_unit": 1, "rounding": "floor", "pending_days": 0},
    "clawback": {"spent_points": "negative", "max_negative": 1000},
    "rewards": [{"id": "5-off", "name": "$5 off", "kind": "fixed_amount", "points": 500, "value": "5.00"}],
}
"""1 point per whole unit, available at once, and one reward to spend on."""


def wc_headers(body: bytes, topic: str, *, source: str = SHOP, secret: str = WEBHOOK_SECRET,
               delivery_id: str = "5c3d1e0a9b7e", webhook_id: int = 12) -> dict[str, str]:
    resource, event = topic.split(".", 1)
    return {"content-type": "application/json", "user-agent": "WooCommerce/9.4.0 Hookshot (WordPress/6.7)",
            "x-wc-webhook-source": source, "x-wc-webhook-topic": topic, "x-wc-webhook-resource": resource,
            "x-wc-webhook-event": event, "x-wc-webhook-signature": webhook_signature(secret, body),
            "x-wc-webhook-id": str(webhook_id), "x-wc-webhook-delivery-id": delivery_id}


def wc_json(document: Any) -> bytes:
    """As WordPress encodes it (``wp_json_encode``): slashes escaped."""
    return json.dumps(document, separators=(",", ":")).replace("/", "\\/").encode()


def balance(runtime: Runtime, ref: str) -> int:
    return runtime.loyalty(SHOP).balance(ref).available


class FakeStore:
    """WooCommerce's REST API as far as the plugin uses it: orders (filtered by
    ``modified_after``, ordered by modification, paged), an order's refunds, coupons, webhooks.
    ``fail(method, route, status, when)`` makes the next matching request fail once."""

    def __init__(self) -> None:
        self.orders: dict[int, dict[str, Any]] = {}
        self.refunds: dict[int, list[dict[str, Any]]] = {}
        self.coupons: list[dict[str, Any]] = []
        self.webhooks: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._failures: list[tuple[str, str, int, Callable[[dict[str, str]], bool]]] = []
        self.stand_in = StandIn(self._answer)
        self.url = self.stand_in.url

    def put(self, order: dict[str, Any], refunds: list[dict[str, Any]] = ()) -> None:
        self.orders[order["id"]] = order
        if refunds:
            self.refunds[order["id"]] = list(refunds)

    def fail(self, method: str, route: str, status: int = 500,
             when: Callable[[dict[str, str]], bool] = lambda query: True) -> None:
        self._failures.append((method, route, status, when))

    def close(self) -> None:
        self.stand_in.close()

    def _answer(self, path: str, raw: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        method = headers[":method"]
        parts = urlsplit(path)
        # The client sends the query twice over http (once signed, once as params): the first counts.
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        route = parts.path.removeprefix("/wp-json/wc/v3/")
        self.requests.append((method, route, query))
        if "oauth_signature" not in query or query.get("oauth_consumer_key") != "ck_0123456789abcdef":
            return 401, {"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources."}
        for failure in self._failures:
            if failure[:2] == (method, route) and failure[3](query):
                self._failures.remove(failure)
                return failure[2], {"code": "internal_server_error", "message": "There has been a critical error."}
        body = json.loads(raw) if raw else None
        if (method, route) == ("GET", "orders"):
            return 200, self._orders(query)
        if method == "GET" and route.startswith("orders/") and route.endswith("/refunds"):
            order_id = int(route.split("/")[1])
            if order_id not in self.orders:
                return 404, {"code": "woocommerce_rest_shop_order_invalid_id", "message": "Invalid ID."}
            return 200, self.refunds.get(order_id, [])
        if (method, route) == ("POST", "coupons"):
            if any(coupon["code"] == body["code"] for coupon in self.coupons):
                return 400, {"code": "woocommerce_rest_coupon_code_already_exists",
                             "message": "The coupon code already exists"}
            self.coupons.append({"id": 700 + len(self.coupons), **body})
            return 201, self.coupons[-1]
        if (method, route) == ("GET", "webhooks"):
            return 200, self.webhooks
        if method == "PUT" and route.startswith("webhooks/"):
            hook = next(h for h in self.webhooks if h["id"] == int(route.split("/")[1]))
            hook.update(body)
            return 200, hook
        return 404, {"code": "rest_no_route", "message": "No route was found matching the URL and request method."}

    def _orders(self, query: dict[str, str]) -> list[dict[str, Any]]:
        assert query["orderby"] == "modified" and query["order"] == "asc" and query["dates_are_gmt"] == "true"
        after = query.get("modified_after", "")
        found = sorted((o for o in self.orders.values() if o["date_modified_gmt"] > after),
                       key=lambda o: (o["date_modified_gmt"], o["id"]))
        per_page, page = int(query.get("per_page", 10)), int(query.get("page", 1))
        return found[(page - 1) * per_page:page * per_page]


def webhook(hook_id: int, topic: str, status: str = "active",
            delivery_url: str = "https://loyalty.example/webhooks/woocommerce") -> dict[str, Any]:
    return {"id": hook_id, "name": f"Loyalty {topic}", "status": status, "topic": topic, "resource":
            topic.split(".")[0], "event": topic.split(".")[1], "hooks": [], "delivery_url": delivery_url,
            "date_created_gmt": "2026-02-01T09:00:00", "date_modified_gmt": "2026-02-01T09:00:00"}
