"""Bearer API keys for the REST API, and the dependency that turns a request into an Access.

    key, info = create_key(engine, "north.example", "write", label="checkout")   # shown once

A shop key is ``lk_`` and 256 random bits; the database keeps only its SHA-256 digest (a fast
hash is enough for a key that long) and a short prefix to tell keys apart in listings.
``LOYALTY_API_KEY`` is the admin key: valid for every shop, it names the shop with
``?shop=ID`` (``default`` when left out). A shop key may leave ``shop`` out; naming another
shop is 403 whether that shop exists or not, so a key learns nothing about other tenants.

Lookups are cached for :data:`CACHE_SECONDS`, so a key revoked by another process (``loyalty
apikey revoke``) stops working within that time; in this process at once. Keys and digests
are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import weakref
from datetime import datetime
from typing import Annotated, Any, Literal

from attrs import frozen
from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException

from loyalty_sdk.core.books import system_clock
from loyalty_sdk.core.errors import InvalidInput, LoyaltyError, ShopNotFound
from loyalty_sdk.core.ledger import stored, utc
from loyalty_sdk.core.storage import api_keys, shops
from loyalty_sdk.server.runtime import Runtime

KEY_PREFIX = "lk_"
SCOPES = ("read", "write")
DEFAULT_SHOP = "default"
CACHE_SECONDS = 5.0
"""How long a key lookup is trusted: a key revoked elsewhere stops working within this."""
_SHOWN = 10
"""Characters of a key kept for display: ``lk_`` and 7 random ones."""
_monotonic = time.monotonic
"""The cache's clock (tests replace it)."""
_LONGEST = 512
"""A presented key longer than this is refused without hashing it."""


class ApiKeyNotFound(LoyaltyError, LookupError):
    code = "api_key_not_found"
    status = 404


class InsufficientScope(LoyaltyError):
    """A read key used on an endpoint that changes something."""

    code = "insufficient_scope"
    status = 403


class WrongShop(LoyaltyError):
    """A shop key used with ``?shop=`` naming another shop."""

    code = "forbidden"
    status = 403


@frozen
class Access:
    """Who is calling: the shop every query of the request is scoped to, and what they may do."""

    shop_id: str
    scope: Literal["read", "write"]
    admin: bool = False

    @property
    def can_write(self) -> bool:
        return self.scope == "write"


# -- managing keys (the CLI's `loyalty apikey ...`) ---------------------------------------------


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _info(row: Any) -> dict[str, Any]:
    return {"id": row.id, "shop_id": row.shop_id, "scope": row.scope, "prefix": row.prefix, "label": row.label,
            "created_at": stored(row.created_at), "revoked_at": stored(row.revoked_at)}


def create_key(engine: Engine, shop_id: str, scope: str, label: str | None = None, *,
               now: datetime | None = None) -> tuple[str, dict[str, Any]]:
    """A new key for ``shop_id``: the key itself (show it once; it is not stored) and its
    record (id, shop_id, scope, prefix, label, created_at, revoked_at)."""
    if scope not in SCOPES:
        raise InvalidInput(f"scope must be read or write, got {scope!r}", field="scope", value=scope)
    if label is not None and len(label) > 255:
        raise InvalidInput(f"label must be at most 255 characters, got {len(label)}", field="label", value=label[:40])
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    moment = utc(now or system_clock())
    with engine.execution_options(loyalty_write=True).begin() as conn:
        if conn.execute(select(shops.c.id).where(shops.c.id == shop_id)).first() is None:
            raise ShopNotFound(f"no shop {shop_id!r} is registered (loyalty shops add)", field="shop", value=shop_id)
        key_id = conn.execute(insert(api_keys).returning(api_keys.c.id), {
            "shop_id": shop_id, "scope": scope, "prefix": key[:_SHOWN], "digest": digest(key), "label": label,
            "created_at": moment,
        }).scalar_one()
        row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).one()
    return key, _info(row)


def list_keys(engine: Engine, shop_id: str | None = None, *, include_revoked: bool = True) -> list[dict[str, Any]]:
    """Keys' records (never the keys or their digests), oldest first; one shop's or all."""
    query = select(api_keys).order_by(api_keys.c.id)
    if shop_id is not None:
        query = query.where(api_keys.c.shop_id == shop_id)
    if not include_revoked:
        query = query.where(api_keys.c.revoked_at.is_(None))
    with engine.connect() as conn:
        return [_info(row) for row in conn.execute(query)]


def revoke_key(engine: Engine, key_id: int, *, shop_id: str | None = None,
               now: datetime | None = None) -> dict[str, Any]:
    """Revoke a key by its id (optionally requiring it to belong to ``shop_id``); revoking a
    revoked key changes nothing. Returns its record; ApiKeyNotFound when there is no such key."""
    moment = utc(now or system_clock())
    query = select(api_keys).where(api_keys.c.id == key_id)
    if shop_id is not None:
        query = query.where(api_keys.c.shop_id == shop_id)
    with engine.execution_options(loyalty_write=True).begin() as conn:
        row = conn.execute(query).first()
        if row is None:
            raise ApiKeyNotFound(f"no API key {key_id}" + (f" in shop {shop_id!r}" if shop_id else ""),
                                 field="id", value=key_id)
        if row.revoked_at is None:
            conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=moment))
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).one()
    _forget(engine, row.digest)
    return _info(row)


# -- checking keys -------------------------------------------------------------------------------


class _KeyCache:
    """Digest -> (shop_id, scope) of live keys, each trusted for CACHE_SECONDS. Unknown keys are
    not remembered, so a key created a moment ago works at once."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[float, str, str]] = {}
        self.lock = threading.Lock()

    def get(self, key_digest: str) -> tuple[str, str] | None:
        found = self.entries.get(key_digest)
        if found is None or found[0] <= _monotonic():
            return None
        return found[1], found[2]

    def put(self, key_digest: str, shop_id: str, scope: str) -> None:
        with self.lock:
            if len(self.entries) > 10_000:  # bounded: drop what has expired, else everything
                now = _monotonic()
                kept = {k: v for k, v in self.entries.items() if v[0] > now}
                self.entries = kept if len(kept) <= 10_000 else {}
            self.entries[key_digest] = (_monotonic() + CACHE_SECONDS, shop_id, scope)

    def drop(self, key_digest: str) -> None:
        with self.lock:
            self.entries.pop(key_digest, None)


_caches: weakref.WeakKeyDictionary[Engine, _KeyCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def _cache(engine: Engine) -> _KeyCache:
    cache = _caches.get(engine)
    if cache is None:
        with _caches_lock:
            cache = _caches.setdefault(engine, _KeyCache())
    return cache


def _forget(engine: Engine, key_digest: str) -> None:
    cache = _caches.get(engine)
    if cache is not None:
        cache.drop(key_digest)


def lookup_key(engine: Engine, key: str) -> tuple[str, str] | None:
    """(shop_id, scope) of a live shop key, or None for an unknown or revoked one."""
    if not key.startswith(KEY_PREFIX) or len(key) > _LONGEST:
        return None
    key_digest = digest(key)
    cache = _cache(engine)
    found = cache.get(key_digest)
    if found is not None:
        return found
    with engine.connect() as conn:
        row = conn.execute(select(api_keys.c.shop_id, api_keys.c.scope, api_keys.c.revoked_at)
                           .where(api_keys.c.digest == key_digest)).first()
    if row is None or row.revoked_at is not None:
        return None
    cache.put(key_digest, row.shop_id, row.scope)
    return row.shop_id, row.scope


def key_record(engine: Engine, key: str) -> dict[str, Any] | None:
    """The record of a live shop key (as :func:`list_keys` gives it), or None; uncached, for
    the rare callers that need to know which key it is (signing in to the admin pages)."""
    if not key.startswith(KEY_PREFIX) or len(key) > _LONGEST:
        return None
    with engine.connect() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.digest == digest(key),
                                                  api_keys.c.revoked_at.is_(None))).first()
    return None if row is None else _info(row)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


_bearer = HTTPBearer(auto_error=False, description="A shop API key (`loyalty apikey create`) or the admin key "
                                                   "(`LOYALTY_API_KEY`).")


def authenticate(runtime: Runtime, credentials: HTTPAuthorizationCredentials | None, shop: str | None) -> Access:
    """The Access a bearer key grants for ``shop`` (the ``?shop=`` parameter, or None)."""
    if credentials is None or not credentials.credentials:
        raise _unauthorized("an API key is required: Authorization: Bearer <key>")
    presented = credentials.credentials
    admin = runtime.settings.api_key
    admin_key = admin.get_secret_value() if admin is not None else ""
    if admin_key and hmac.compare_digest(presented.encode("utf-8"), admin_key.encode("utf-8")):
        access = Access(shop or DEFAULT_SHOP, "write", admin=True)
    else:
        found = lookup_key(runtime.db, presented)
        if found is None:
            raise _unauthorized("the API key is not valid (unknown or revoked)")
        own, scope = found
        if shop is not None and shop != own:
            raise WrongShop("this API key cannot act for the shop named by ?shop=", field="shop")
        access = Access(own, "write" if scope == "write" else "read")
    if runtime.shop(access.shop_id) is None:
        raise ShopNotFound(f"no shop {access.shop_id!r} is registered (loyalty shops add)", field="shop",
                           value=access.shop_id)
    return access


ShopParam = Annotated[str | None, Query(min_length=1, max_length=255,
                                        description="The shop (tenant): needed with the admin key (default: "
                                                    "`default`); a shop key may leave it out.")]


def read_access(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
                shop: ShopParam = None) -> Access:
    """Any valid key: the endpoint only reads."""
    return authenticate(request.app.state.runtime, credentials, shop)


def write_access(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
                 shop: ShopParam = None) -> Access:
    """A write key (or the admin key): the endpoint changes the books."""
    access = authenticate(request.app.state.runtime, credentials, shop)
    if not access.can_write:
        raise InsufficientScope("this API key is read-only; the endpoint needs a write key", field="scope",
                                value=access.scope)
    return access


ReadAccess = Annotated[Access, Depends(read_access)]
WriteAccess = Annotated[Access, Depends(write_access)]

__all__ = [
    "CACHE_SECONDS",
    "SCOPES",
    "Access",
    "ApiKeyNotFound",
    "InsufficientScope",
    "ReadAccess",
    "WriteAccess",
    "WrongShop",
    "authenticate",
    "create_key",
    "digest",
    "key_record",
    "list_keys",
    "lookup_key",
    "read_access",
    "revoke_key",
    "write_access",
]
