"""The reads the admin pages need beyond the facade: finding members by what an admin types,
and the rewards issued. Every query is scoped to the facade's shop."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select

from loyalty_sdk.core.ledger import stored
from loyalty_sdk.core.members import to_member
from loyalty_sdk.core.models import Member
from loyalty_sdk.core.money import Money
from loyalty_sdk.core.storage import members, redemptions
from loyalty_sdk.facade import Loyalty

FOUND_AT_MOST = 50


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_members(loyalty: Loyalty, query: str, limit: int = FOUND_AT_MOST) -> list[Member]:
    """Members whose platform customer id is ``query``, whose email starts with it, or whose
    name contains it (case-insensitive); ``#12`` is member 12. Newest first."""
    text = query.strip()
    if not text:
        return []
    m = members.c
    wanted = [m.customer_id == text, func.lower(m.email).like(_like(text.lower()) + "%", escape="\\"),
              func.lower(m.name).like("%" + _like(text.lower()) + "%", escape="\\")]
    if text.startswith("#") and text[1:].isdigit() and len(text) < 19:
        wanted.append(m.id == int(text[1:]))
    with loyalty.books.read() as conn:
        rows = conn.execute(select(members).where(m.shop_id == loyalty.shop_id, or_(*wanted))
                            .order_by(m.id.desc()).limit(limit)).all()
    return [to_member(row) for row in rows]


def issued_rewards(loyalty: Loyalty, *, member_id: int | None = None, status: str | None = None,
                   limit: int = 100) -> list[dict[str, Any]]:
    """Redemptions, newest first, with their status and code (and the member's email)."""
    r = redemptions.c
    query = (select(redemptions, members.c.email, members.c.customer_id)
             .join(members, members.c.id == r.member_id)
             .where(r.shop_id == loyalty.shop_id).order_by(r.id.desc()).limit(limit))
    if member_id is not None:
        query = query.where(r.member_id == member_id)
    if status:
        query = query.where(r.status == status)
    with loyalty.books.read() as conn:
        rows = conn.execute(query).all()
    return [{**row._mapping, "created_at": stored(row.created_at), "issued_at": stored(row.issued_at),
             "used_at": stored(row.used_at), "value": _value(row.value_minor, row.currency)} for row in rows]


def _value(minor: int | None, currency: str | None) -> str | None:
    if minor is None or currency is None:
        return None
    return f"{Money.from_minor(minor, currency).amount} {currency}"


__all__ = ["FOUND_AT_MOST", "issued_rewards", "search_members"]
