"""A thin wrapper over the official ``woocommerce`` REST client (wc/v3, over ``requests``).

Each call names the store's keys itself (no globals: one process serves many stores), and
every failure, from an unreachable store to an error answer, is one :class:`WooCommerceError`
that says what was asked and what came back. Over https the client sends the keys as HTTP
Basic auth; over plain http, as WooCommerce requires, it signs each request with OAuth 1.0a.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from woocommerce import API

from loyalty_woocommerce.connection import Credentials

TIMEOUT = 20
"""Seconds: WooCommerce on shared hosting answers a page of orders slowly."""


class WooCommerceError(Exception):
    """The store refused a call or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def client(keys: Credentials) -> API:
    if not keys.has_rest:
        raise WooCommerceError(f"no REST API keys for {keys.api_url} (loyalty woocommerce connect, or "
                               "LOYALTY_WOOCOMMERCE_CONSUMER_KEY and _SECRET)")
    return API(url=keys.api_url, consumer_key=keys.consumer_key, consumer_secret=keys.consumer_secret,
               version="wc/v3", timeout=TIMEOUT)


def call(api: API, method: str, endpoint: str, data: Any = None,
         params: Mapping[str, Any] | None = None) -> tuple[Any, Mapping[str, str]]:
    """The decoded answer and its headers (``X-WP-TotalPages`` for lists)."""
    try:
        if data is None:
            answer = getattr(api, method)(endpoint, params=dict(params or {}))
        else:
            answer = getattr(api, method)(endpoint, data, params=dict(params or {}))
    except requests.RequestException as error:
        raise WooCommerceError(f"{method.upper()} {endpoint}: {api.url} could not be reached: {error}") from None
    if answer.status_code >= 400:
        try:
            why = answer.json().get("message") or answer.text[:200]
        except ValueError:
            why = answer.text[:200]
        raise WooCommerceError(f"{method.upper()} {endpoint}: HTTP {answer.status_code}: {why}", answer.status_code)
    try:
        return answer.json(), answer.headers
    except ValueError:
        raise WooCommerceError(f"{method.upper()} {endpoint}: the answer is not JSON", answer.status_code) from None


def orders_modified_after(api: API, after: str, page: int, per_page: int) -> list[dict[str, Any]]:
    """One page of orders modified after ``after`` (UTC), oldest change first."""
    found, _ = call(api, "get", "orders", params={
        "modified_after": after, "dates_are_gmt": "true", "orderby": "modified", "order": "asc",
        "per_page": per_page, "page": page, "status": "any"})
    return list(found)


def order_refunds(api: API, order_id: str) -> list[dict[str, Any]]:
    found, _ = call(api, "get", f"orders/{order_id}/refunds", params={"per_page": 100})
    return list(found)


def create_coupon(api: API, coupon: Mapping[str, Any]) -> dict[str, Any]:
    created, _ = call(api, "post", "coupons", dict(coupon))
    return created


def webhooks(api: API) -> list[dict[str, Any]]:
    found, _ = call(api, "get", "webhooks", params={"per_page": 100})
    return list(found)


def set_webhook_status(api: API, webhook_id: str, status: str) -> dict[str, Any]:
    updated, _ = call(api, "put", f"webhooks/{webhook_id}", {"status": status})
    return updated


__all__ = ["WooCommerceError", "call", "client", "create_coupon", "order_refunds", "orders_modified_after",
           "set_webhook_status", "webhooks"]
