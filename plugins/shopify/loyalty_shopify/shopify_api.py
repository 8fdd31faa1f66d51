"""A thin client of the Shopify Admin API: the token exchange and GraphQL, per shop.

Requests go through httpx with the shop's token passed per call. ShopifyAPI's own GraphQL
client keeps the shop, version and token in class-level globals, which a server handling many
shops in many threads cannot share; its pure helpers (session tokens) are used where they fit.

``LOYALTY_SHOPIFY_ADMIN_URL`` points every shop's Admin API elsewhere (a local stand-in in
tests); ``LOYALTY_SHOPIFY_API_VERSION`` picks the API version (default ``2025-10``).
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from typing import Any

import httpx

DEFAULT_API_VERSION = "2025-10"
URI_SINCE = "2025-10"
"""From this version a webhook subscription names its destination ``uri``; before, ``callbackUrl``."""
WEBHOOK_TOPICS = ("ORDERS_PAID", "ORDERS_CANCELLED", "REFUNDS_CREATE", "CUSTOMERS_CREATE", "CUSTOMERS_UPDATE",
                  "APP_UNINSTALLED")
"""Subscribed at install. The privacy topics are declared in shopify.app.toml instead, as
Shopify requires."""
TIMEOUT = httpx.Timeout(10.0)

SUBSCRIBE = """
mutation subscribe($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id }
    userErrors { field message }
  }
}
"""
SHOP_INFO = "query { shop { currencyCode ianaTimezone } }"


class ShopifyError(Exception):
    """The Admin API refused a call or could not be reached."""


def admin_url(shop: str) -> str:
    return os.environ.get("LOYALTY_SHOPIFY_ADMIN_URL") or f"https://{shop}"


def api_version() -> str:
    return os.environ.get("LOYALTY_SHOPIFY_API_VERSION") or DEFAULT_API_VERSION


def exchange_code(shop: str, api_key: str, api_secret: str, code: str) -> tuple[str, str]:
    """The offline access token (and its granted scopes) for an authorization code."""
    try:
        answer = httpx.post(f"{admin_url(shop)}/admin/oauth/access_token", timeout=TIMEOUT,
                            json={"client_id": api_key, "client_secret": api_secret, "code": code})
    except httpx.HTTPError as error:
        raise ShopifyError(f"could not reach {shop} to exchange the install code: {error}") from None
    if answer.status_code != 200:
        raise ShopifyError(f"{shop} refused the install code (HTTP {answer.status_code})")
    body = answer.json()
    return body["access_token"], body.get("scope", "")


def json_body(document: Any) -> bytes:
    """JSON with each Decimal written as the exact number it is (a GraphQL ``Float`` such as a
    discount's percentage), never through a binary float."""
    exact: dict[str, str] = {}

    def mark(value: Any) -> str:
        if not isinstance(value, Decimal):
            raise TypeError(f"{type(value).__name__} is not JSON")
        token = f"\u0000decimal{len(exact)}\u0000"
        exact[token] = format(value, "f")
        return token

    text = json.dumps(document, default=mark)
    for token, number in exact.items():
        text = text.replace(json.dumps(token), number)
    return text.encode()


def graphql(shop: str, token: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    url = f"{admin_url(shop)}/admin/api/{api_version()}/graphql.json"
    try:
        answer = httpx.post(url, content=json_body({"query": query, "variables": variables or {}}), timeout=TIMEOUT,
                            headers={"X-Shopify-Access-Token": token, "Content-Type": "application/json"})
    except httpx.HTTPError as error:
        raise ShopifyError(f"could not reach {shop}'s Admin API: {error}") from None
    if answer.status_code != 200:
        raise ShopifyError(f"{shop}'s Admin API answered HTTP {answer.status_code}")
    body = answer.json()
    if body.get("errors"):
        raise ShopifyError(f"{shop}'s Admin API refused the query: {body['errors']}")
    return body["data"]


def subscribe_webhooks(shop: str, token: str, address: str) -> list[str]:
    """Subscribe ``address`` to every topic the app handles; the subscription ids."""
    field = "uri" if api_version() >= URI_SINCE else "callbackUrl"
    ids = []
    for topic in WEBHOOK_TOPICS:
        data = graphql(shop, token, SUBSCRIBE, {"topic": topic, "webhookSubscription": {field: address,
                                                                                        "format": "JSON"}})
        created = data["webhookSubscriptionCreate"]
        errors = [e for e in created["userErrors"] if "already been taken" not in e.get("message", "")]
        if errors:
            raise ShopifyError(f"{shop} refused the {topic} subscription: {errors}")
        if created.get("webhookSubscription"):
            ids.append(created["webhookSubscription"]["id"])
    return ids


def shop_info(shop: str, token: str) -> dict[str, str]:
    """The shop's currency and time zone (its books are kept in them)."""
    return graphql(shop, token, SHOP_INFO)["shop"]


__all__ = ["ShopifyError", "WEBHOOK_TOPICS", "exchange_code", "graphql", "json_body", "shop_info",
           "subscribe_webhooks"]
