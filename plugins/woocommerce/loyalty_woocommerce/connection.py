"""Which store a shop is, and the keys to it.

A WooCommerce shop's id is its store URL as WooCommerce sends it in ``X-WC-Webhook-Source``
(``https://shop.example/``). Its keys (the REST API consumer key and secret, and the
webhooks' secret) come from one of two places:

- ``loyalty woocommerce connect URL ...``: kept in the shop's settings, sealed with a key
  derived from ``LOYALTY_SECRET_KEY``, under ``access_token`` (the setting ``loyalty shops
  set`` refuses to write and never prints, and an uninstall forgets);
- ``LOYALTY_WOOCOMMERCE_CONSUMER_KEY``, ``..._CONSUMER_SECRET`` and ``..._WEBHOOK_SECRET``,
  for the store named by ``LOYALTY_WOOCOMMERCE_URL`` (or every WooCommerce shop when unset).

The REST API is reached at the store URL, or at the shop setting ``api_url`` when it answers
elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from attrs import field, frozen
from sqlalchemy import select
from sqlalchemy.engine import Engine

from loyalty_sdk.core import tenancy
from loyalty_sdk.core.errors import InvalidInput, ShopNotFound
from loyalty_sdk.core.storage import shops
from loyalty_sdk.server import sealing
from loyalty_sdk.server.platforms import ShopDirectory, ShopRecord
from loyalty_sdk.settings import get_settings

PLATFORM = "woocommerce"
SEALED = "access_token"
PURPOSE = "loyalty-woocommerce-credentials"


@frozen
class Credentials:
    """What is known of a store's keys; any part may be missing."""

    api_url: str
    consumer_key: str | None = field(default=None, repr=False)
    consumer_secret: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)

    @property
    def has_rest(self) -> bool:
        return bool(self.consumer_key and self.consumer_secret)


def store_url(url: str) -> str:
    """``url`` as WooCommerce sends ``home_url('/')``: scheme and host lower case, one trailing slash."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(f"a WooCommerce store URL looks like https://shop.example/, got {url!r}", field="url",
                           value=url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/") + "/", "", ""))


def find_shop(shops_by_id: ShopDirectory, source: str | None) -> ShopRecord | None:
    """The WooCommerce shop registered for a webhook's ``X-WC-Webhook-Source``, written with
    or without its trailing slash."""
    if not source:
        return None
    try:
        canonical = store_url(source)
    except InvalidInput:
        return None
    for candidate in dict.fromkeys((source.strip(), canonical, canonical.rstrip("/"))):
        shop = shops_by_id(candidate)
        if shop is not None and shop.platform == PLATFORM:
            return shop
    return None


def whole_setting(shop: Any, key: str, default: int) -> int:
    """A shop setting that counts whole units (days, minutes): a positive integer, as
    ``loyalty shops set SHOP KEY 30`` stores it; anything else is refused by name."""
    value = (getattr(shop, "settings", None) or {}).get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidInput(f"shop setting {key} must be a whole number above 0, got {value!r}", field=key,
                           value=value)
    return value


def credentials(shop: Any) -> Credentials:
    """The keys of ``shop`` (a ShopRecord or a shops row): sealed in its settings, else the
    environment's when they are for this store."""
    settings: Mapping[str, Any] = getattr(shop, "settings", None) or {}
    api_url = settings.get("api_url") or shop.id
    sealed = settings.get(SEALED)
    secret_key = get_settings().secret_key
    if sealed and secret_key is not None:
        try:
            keys = json.loads(sealing.unseal(sealed, secret_key.get_secret_value(), PURPOSE))
        except sealing.SealBroken:
            keys = {}
        return Credentials(api_url, keys.get("consumer_key"), keys.get("consumer_secret"), keys.get("webhook_secret"))
    env = get_settings()
    if env.woocommerce_url and not _same_store(env.woocommerce_url, shop.id):
        return Credentials(api_url)
    return Credentials(api_url, *(None if value is None else value.get_secret_value() for value in (
        env.woocommerce_consumer_key, env.woocommerce_consumer_secret, env.woocommerce_webhook_secret)))


def _same_store(a: str, b: str) -> bool:
    try:
        return store_url(a) == store_url(b)
    except InvalidInput:
        return False


def connect(engine: Engine, shop_id: str, *, consumer_key: str | None, consumer_secret: str | None,
            webhook_secret: str | None, api_url: str | None = None) -> dict[str, Any]:
    """Keep a store's keys, sealed, in its shop's settings (parts not given are kept)."""
    secret_key = get_settings().secret_key
    if secret_key is None:
        raise InvalidInput("LOYALTY_SECRET_KEY must be set: store keys are kept encrypted with a key derived from it",
                           field="LOYALTY_SECRET_KEY", value=None)
    with engine.execution_options(loyalty_write=True).begin() as conn:
        row = conn.execute(select(shops.c.platform, shops.c.settings).where(shops.c.id == shop_id)).first()
        if row is None or row.platform != PLATFORM:
            raise ShopNotFound(f"no WooCommerce shop {shop_id!r}; add it with `loyalty shops add woocommerce "
                               f"{shop_id}`", field="shop", value=shop_id)
        known = credentials(_Shop(shop_id, row.settings or {}))
        keys = {"consumer_key": consumer_key or known.consumer_key,
                "consumer_secret": consumer_secret or known.consumer_secret,
                "webhook_secret": webhook_secret or known.webhook_secret}
        changes = {SEALED: sealing.seal(json.dumps(keys), secret_key.get_secret_value(), PURPOSE)}
        if api_url:
            changes["api_url"] = api_url.rstrip("/")
        settings = tenancy.change_settings(conn, shop_id, changes)
    return {"shop": shop_id, "api_url": settings.get("api_url") or shop_id,
            **{name: value is not None for name, value in keys.items()}}


def save_settings(engine: Engine, shop_id: str, changes: Mapping[str, Any]) -> None:
    """Change some of a shop's settings, keeping the others (the sync's cursor, its last run)."""
    with engine.execution_options(loyalty_write=True).begin() as conn:
        tenancy.change_settings(conn, shop_id, changes)


@frozen
class _Shop:
    id: str
    settings: Mapping[str, Any]


__all__ = ["PLATFORM", "Credentials", "connect", "credentials", "find_shop", "save_settings", "store_url",
           "whole_setting"]
