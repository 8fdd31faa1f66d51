"""Who is signed in to the admin pages.

A browser signs in with an API key: ``LOYALTY_API_KEY`` (every shop; the admin picks the shop
shown) or a shop's own key (that shop only; a read key may look but not change anything).
The session lives server-side in ``admin_sessions``: the cookie is 256 random bits, the table
keeps only its SHA-256 digest, and signing out deletes the row, so a copied cookie dies with
it. A session ends after :data:`SESSION_SECONDS`, when its key is revoked, or when the admin
key changes. Every form carries the session's CSRF token, compared in constant time.

Inside the Shopify admin the page has no cookie (third-party frames): each request carries
an App Bridge session token instead, which a platform adapter's ``admin_session`` verifies.
It signs in for its own shop only, and needs no CSRF token (a cross-site form cannot set
``Authorization``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from attrs import frozen
from fastapi import Request
from sqlalchemy import delete, insert, select, update

from loyalty_sdk.core.ledger import stored, utc
from loyalty_sdk.core.storage import admin_sessions, api_keys
from loyalty_sdk.server import auth
from loyalty_sdk.server.platforms import SignatureRejected
from loyalty_sdk.server.runtime import Runtime

COOKIE = "loyalty_admin"
SESSION_SECONDS = 8 * 3600
"""A working day: after it the admin signs in again."""
ADMIN_KEY_ACTOR = "admin key"


class SignInRefused(Exception):
    """The key (or token) signs nobody in; the message says why, without echoing it."""


@frozen
class Admin:
    """A signed-in admin: who (for the audit), the shop the pages show, and what they may do."""

    actor: str
    shop_id: str
    all_shops: bool
    scope: str
    csrf: str | None = None
    """None for a session token's request: no cookie, so no CSRF token is needed."""
    digest: str | None = None
    platform: str | None = None
    """The platform whose admin embeds the pages (a session token's request), else None."""

    @property
    def can_write(self) -> bool:
        return self.scope == "write"


def _write(runtime: Runtime) -> Any:
    return runtime.db.execution_options(loyalty_write=True).begin()


def _admin_key_check(runtime: Runtime) -> str | None:
    """A fingerprint of the configured admin key: a session of the admin key outlives neither
    the key nor a change of it."""
    configured = runtime.settings.api_key
    if configured is None or not configured.get_secret_value():
        return None
    return hmac.new(b"loyalty-admin-session", configured.get_secret_value().encode(), hashlib.sha256).hexdigest()


def sign_in(runtime: Runtime, key: str, shop: str | None = None) -> tuple[str, Admin]:
    """Start a session for ``key``: the cookie to set and who it signs in. ``shop`` picks the
    shop an admin-key session shows first (default: ``default``)."""
    key = key.strip()
    check = _admin_key_check(runtime)
    configured = runtime.settings.api_key
    key_id = None
    if check is not None and configured is not None and hmac.compare_digest(
            key.encode(), configured.get_secret_value().encode()):
        actor, shop_id, all_shops, scope = ADMIN_KEY_ACTOR, shop or auth.DEFAULT_SHOP, True, "write"
    else:
        record = auth.key_record(runtime.db, key)
        if record is None:
            raise SignInRefused("that key is not a valid API key (unknown or revoked)")
        if shop and shop != record["shop_id"]:
            raise SignInRefused(f"that key belongs to another shop than {shop!r}")
        key_id, check = record["id"], None
        actor = f"key {record['id']} ({record['prefix']}…)"
        shop_id, all_shops, scope = record["shop_id"], False, record["scope"]
    if runtime.shop(shop_id) is None:
        raise SignInRefused(f"no shop {shop_id!r} is registered")
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utc(runtime.now())
    with _write(runtime) as conn:
        conn.execute(delete(admin_sessions).where(admin_sessions.c.expires_at <= now))
        conn.execute(insert(admin_sessions), {
            "digest": auth.digest(cookie), "actor": actor, "shop_id": shop_id, "all_shops": all_shops,
            "scope": scope, "key_id": key_id, "key_check": check, "csrf": csrf, "created_at": now,
            "expires_at": now + timedelta(seconds=SESSION_SECONDS),
        })
    return cookie, Admin(actor, shop_id, all_shops, scope, csrf, auth.digest(cookie))


def current(runtime: Runtime, request: Request) -> Admin | None:
    """Who ``request`` comes from: an embedded session token, else the session cookie; None
    when signed out (no session, an expired one, or one whose key was revoked or changed)."""
    authorization = request.headers.get("authorization")
    if authorization:
        return _embedded(runtime, authorization)
    cookie = request.cookies.get(COOKIE)
    if not cookie or len(cookie) > 128:
        return None
    s = admin_sessions.c
    with runtime.db.connect() as conn:
        row = conn.execute(select(admin_sessions, api_keys.c.revoked_at)
                           .outerjoin(api_keys, api_keys.c.id == s.key_id)
                           .where(s.digest == auth.digest(cookie))).first()
    if row is None or stored(row.expires_at) <= runtime.now():
        return None
    if row.key_id is not None and row.revoked_at is not None:
        return None
    if row.key_id is None and (row.key_check is None or row.key_check != _admin_key_check(runtime)):
        return None
    return Admin(row.actor, row.shop_id, row.all_shops, row.scope, row.csrf, row.digest)


def _embedded(runtime: Runtime, authorization: str) -> Admin | None:
    for adapter in runtime.adapters.values():
        verify = getattr(adapter, "admin_session", None)
        if verify is None:
            continue
        try:
            found = verify(authorization)
        except SignatureRejected:
            return None
        if found is None:
            continue
        shop_id, user = found
        record = runtime.shop(shop_id)
        if record is None or record.platform != adapter.name or record.settings.get("uninstalled_at"):
            return None
        return Admin(f"{adapter.name} user {user or '?'}", shop_id, False, "write", platform=adapter.name)
    return None


def csrf_matches(admin: Admin, presented: object) -> bool:
    """Whether a form's token is this session's (always, for a session token's request)."""
    if admin.csrf is None:
        return True
    return isinstance(presented, str) and hmac.compare_digest(presented.encode(), admin.csrf.encode())


def switch_shop(runtime: Runtime, admin: Admin, shop_id: str) -> Admin:
    """Show another shop (admin-key sessions only)."""
    if not admin.all_shops or admin.digest is None:
        raise SignInRefused("this session can only show its own shop")
    if runtime.shop(shop_id) is None:
        raise SignInRefused(f"no shop {shop_id!r} is registered")
    with _write(runtime) as conn:
        conn.execute(update(admin_sessions).where(admin_sessions.c.digest == admin.digest).values(shop_id=shop_id))
    return Admin(admin.actor, shop_id, True, admin.scope, admin.csrf, admin.digest)


def sign_out(runtime: Runtime, admin: Admin) -> None:
    if admin.digest is not None:
        with _write(runtime) as conn:
            conn.execute(delete(admin_sessions).where(admin_sessions.c.digest == admin.digest))


__all__ = ["COOKIE", "SESSION_SECONDS", "Admin", "SignInRefused", "csrf_matches", "current", "sign_in",
           "sign_out", "switch_shop"]
