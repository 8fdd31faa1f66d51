"""Program totals derived from the entries: what was issued, spent, lost and is still owed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from loyalty_sdk.core.ledger import balance_totals
from loyalty_sdk.core.money import Money
from loyalty_sdk.core.program import Program
from loyalty_sdk.core.storage import members, orders


def points_summary(conn: Connection, shop_id: str) -> dict[str, int]:
    """Program accounts carry the opposite sign of the member side; report them as positives."""
    totals = balance_totals(conn, shop_id)
    return {
        "issued": -totals.get("issued", 0),
        "redeemed": totals.get("redeemed", 0),
        "expired": totals.get("expired", 0),
        "clawed_back": totals.get("clawed_back", 0),
        "adjusted": -totals.get("adjusted", 0),
        "outstanding": totals.get("available", 0) + totals.get("pending", 0),
        "available": totals.get("available", 0),
        "pending": totals.get("pending", 0),
    }


def liability(points: int, program: Program) -> Money:
    """What outstanding points are worth in the program's currency."""
    return Money(Decimal(points) * program.program.point_value, program.program.currency).quantized()


def tier_distribution(conn: Connection, shop_id: str, program: Program) -> dict[str, int]:
    counts = {level.id: 0 for level in program.tiers.levels}
    for tier, count in conn.execute(
        select(members.c.tier, func.count()).where(members.c.shop_id == shop_id).group_by(members.c.tier)
    ):
        counts[tier or "none"] = int(count)
    return counts


def summary(conn: Connection, shop_id: str, program: Program) -> dict[str, Any]:
    points = points_summary(conn, shop_id)
    member_count = conn.execute(select(func.count()).select_from(members).where(members.c.shop_id == shop_id)).scalar_one()
    order_count = conn.execute(select(func.count()).select_from(orders).where(orders.c.shop_id == shop_id)).scalar_one()
    owed = liability(points["outstanding"], program)
    return {
        "members": int(member_count),
        "orders": int(order_count),
        "points": points,
        "liability": {"amount": str(owed.amount), "currency": owed.currency},
        "tiers": tier_distribution(conn, shop_id, program),
    }
