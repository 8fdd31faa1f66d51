"""The admin audit: every action taken in the admin pages, whose, when and in which shop.

    audit.record(runtime, admin, "adjust", {"member_id": 7, "points": 50, "reason": "..."})

Rows are only ever added. Keys, cookies and tokens never go in ``details``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from loyalty_sdk.admin.sessions import Admin
from loyalty_sdk.core.ledger import stored, utc
from loyalty_sdk.core.storage import admin_audit
from loyalty_sdk.server.runtime import Runtime

SIGN_IN, SIGN_OUT, SWITCH_SHOP = "sign_in", "sign_out", "switch_shop"
VIEW_MEMBER, ADJUST, RETRY = "view_member", "adjust", "retry_deliveries"


def record(runtime: Runtime, admin: Admin, action: str, details: dict[str, Any] | None = None) -> None:
    """Add one row: ``admin`` did ``action`` in their current shop."""
    with runtime.db.execution_options(loyalty_write=True).begin() as conn:
        conn.execute(insert(admin_audit), {"shop_id": admin.shop_id, "actor": admin.actor[:255],
                                           "action": action, "at": utc(runtime.now()), "details": details or {}})


def recent(runtime: Runtime, shop_id: str, *, before: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The shop's newest rows first; ``before`` an id to page on."""
    a = admin_audit.c
    query = select(admin_audit).where(a.shop_id == shop_id).order_by(a.id.desc()).limit(limit)
    if before is not None:
        query = query.where(a.id < before)
    with runtime.db.connect() as conn:
        rows = conn.execute(query).all()
    return [{**row._mapping, "at": stored(row.at)} for row in rows]


__all__ = ["ADJUST", "RETRY", "SIGN_IN", "SIGN_OUT", "SWITCH_SHOP", "VIEW_MEMBER", "recent", "record"]
