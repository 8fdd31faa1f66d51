"""A shop's whole footprint: what a member may ask to see, and erasing a shop for good.

The ledger is append-only for everything a shop does; erasure is the one exception, and it
is all or nothing: when a platform tells us a shop is gone for good (Shopify's
``shop/redact``, 48 hours after an uninstall), every row of that shop goes, in one
transaction, children before parents.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from loyalty_sdk.core.errors import ShopNotFound
from loyalty_sdk.core.ledger import stored
from loyalty_sdk.core.storage import (
    admin_audit,
    admin_sessions,
    api_keys,
    entries,
    inbox,
    job_runs,
    lot_draws,
    lots,
    members,
    non_member_orders,
    orders,
    outbox,
    redemptions,
    shops,
    tier_changes,
    transactions,
    webhook_deliveries,
    webhook_endpoints,
)

# Children before parents, so foreign keys hold at every step.
_SHOP_TABLES = (lot_draws, entries, redemptions, orders, non_member_orders, lots, tier_changes, transactions,
                members, outbox, job_runs, admin_sessions, admin_audit, api_keys, inbox)


def forget_shop(conn: Connection, shop_id: str) -> dict[str, int]:
    """Delete every row of ``shop_id``; returns the rows deleted per table."""
    deleted: dict[str, int] = {}
    endpoints = select(webhook_endpoints.c.id).where(webhook_endpoints.c.shop_id == shop_id).scalar_subquery()
    deleted["webhook_deliveries"] = conn.execute(
        delete(webhook_deliveries).where(webhook_deliveries.c.endpoint_id.in_(endpoints))).rowcount
    deleted["webhook_endpoints"] = conn.execute(
        delete(webhook_endpoints).where(webhook_endpoints.c.shop_id == shop_id)).rowcount
    # Transactions refer to each other (a clawback to its earn): drop the links first.
    conn.execute(transactions.update().where(transactions.c.shop_id == shop_id).values(refers_to=None))
    for table in _SHOP_TABLES:
        deleted[table.name] = conn.execute(delete(table).where(table.c.shop_id == shop_id)).rowcount
    deleted["shops"] = conn.execute(delete(shops).where(shops.c.id == shop_id)).rowcount
    return deleted


def change_settings(conn: Connection, shop_id: str, changes: Mapping[str, Any] | None = None,
                    unset: Iterable[str] = ()) -> dict[str, Any]:
    """Set ``changes`` and remove ``unset`` in a shop's settings, under a row lock where the
    database has one (two writers must not each drop the other's key); the settings after."""
    row = conn.execute(select(shops.c.settings).where(shops.c.id == shop_id).with_for_update()).first()
    if row is None:
        raise ShopNotFound(f"no shop {shop_id!r} in this database (loyalty shops add)", field="shop", value=shop_id)
    settings = {**(row.settings or {}), **(changes or {})}
    for key in unset:
        settings.pop(key, None)
    conn.execute(update(shops).where(shops.c.id == shop_id).values(settings=settings))
    return settings


def mark_uninstalled(conn: Connection, shop_id: str, at: Any) -> bool:
    """Note in the shop's settings that the app was removed (deliveries for it are then
    acknowledged and dropped, but for erasure requests), and forget the platform's access
    token at once; False for an unknown shop."""
    row = conn.execute(select(shops.c.settings).where(shops.c.id == shop_id)).first()
    if row is None:
        return False
    settings = {key: value for key, value in (row.settings or {}).items() if key != "access_token"}
    settings["uninstalled_at"] = at.isoformat()
    conn.execute(shops.update().where(shops.c.id == shop_id).values(settings=settings))
    return True


def member_export(conn: Connection, shop_id: str, member_id: int) -> dict[str, Any]:
    """Everything held about one member: profile, balances, every transaction with its reason,
    lots, redemptions and tier changes (a data request's answer)."""
    def rows(table: Any, *order: Any) -> list[dict[str, Any]]:
        found = conn.execute(select(table).where(table.c.shop_id == shop_id, table.c.member_id == member_id)
                             .order_by(*order)).all()
        return [{key: _plain(value) for key, value in row._mapping.items()} for row in found]

    profile = conn.execute(select(members).where(members.c.shop_id == shop_id, members.c.id == member_id)).first()
    return {
        "member": {key: _plain(value) for key, value in profile._mapping.items()} if profile else None,
        "transactions": rows(transactions, transactions.c.id),
        "lots": rows(lots, lots.c.id),
        "redemptions": rows(redemptions, redemptions.c.id),
        "tier_changes": rows(tier_changes, tier_changes.c.id),
    }


def _plain(value: Any) -> Any:
    """JSON-ready: instants in UTC (as every engine reads them back), days and times as text."""
    if isinstance(value, datetime):
        return stored(value).isoformat()  # type: ignore[union-attr]
    if isinstance(value, date):
        return value.isoformat()
    return value


__all__ = ["change_settings", "forget_shop", "mark_uninstalled", "member_export"]
