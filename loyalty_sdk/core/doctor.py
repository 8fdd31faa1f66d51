"""Reconciliation: re-derive every materialized figure from the entries and compare.

Checks (each must find nothing):

- every transaction's entries sum to zero, and all entries of the shop sum to zero;
- each member's ``available`` and ``pending`` equal the sum of their entries;
- each lot's remainder equals its points less what was drawn from it, and is never negative;
- per member, available lots hold ``max(available, 0)`` and pending lots hold ``pending``;
- no member is below the program's negative-balance bound, or has negative pending points;
- no order had more taken back than it earned.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection

from loyalty_sdk.core.program import Program
from loyalty_sdk.core.storage import entries, lot_draws, lots, members, orders, transactions

SAMPLE = 5


def _rows(conn: Connection, query: Any) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in conn.execute(query.limit(SAMPLE))]


def check(conn: Connection, shop_id: str, program: Program) -> dict[str, Any]:
    e, m, l = entries.c, members.c, lots.c
    results: dict[str, list[dict[str, Any]]] = {}

    results["transactions_balance"] = _rows(conn, select(e.transaction_id, func.sum(e.amount).label("sum"))
                                            .where(e.shop_id == shop_id).group_by(e.transaction_id)
                                            .having(func.sum(e.amount) != 0))
    total = conn.execute(select(func.coalesce(func.sum(e.amount), 0)).where(e.shop_id == shop_id)).scalar_one()
    results["books_balance"] = [] if total == 0 else [{"sum": int(total)}]

    per_account = (
        select(e.member_id,
               func.sum(case((e.account == "available", e.amount), else_=0)).label("available"),
               func.sum(case((e.account == "pending", e.amount), else_=0)).label("pending"))
        .where(e.shop_id == shop_id).group_by(e.member_id).subquery()
    )
    results["member_balances"] = _rows(conn, select(m.id, m.available, m.pending, per_account.c.available.label(
        "entries_available"), per_account.c.pending.label("entries_pending"))
        .select_from(members.outerjoin(per_account, per_account.c.member_id == m.id))
        .where(m.shop_id == shop_id,
               (m.available != func.coalesce(per_account.c.available, 0))
               | (m.pending != func.coalesce(per_account.c.pending, 0))))

    drawn = (select(lot_draws.c.lot_id, func.sum(lot_draws.c.points).label("drawn"))
             .where(lot_draws.c.shop_id == shop_id).group_by(lot_draws.c.lot_id).subquery())
    results["lot_remainders"] = _rows(conn, select(l.id, l.points, l.remaining, drawn.c.drawn)
                                      .select_from(lots.outerjoin(drawn, drawn.c.lot_id == l.id))
                                      .where(l.shop_id == shop_id,
                                             (l.remaining != l.points - func.coalesce(drawn.c.drawn, 0))
                                             | (l.remaining < 0)))

    per_lots = (
        select(l.member_id,
               func.sum(case((l.status == "available", l.remaining), else_=0)).label("available"),
               func.sum(case((l.status == "pending", l.remaining), else_=0)).label("pending"))
        .where(l.shop_id == shop_id).group_by(l.member_id).subquery()
    )
    positive = case((m.available > 0, m.available), else_=0)
    results["lots_match_balances"] = _rows(conn, select(m.id, m.available, m.pending, per_lots.c.available.label(
        "lots_available"), per_lots.c.pending.label("lots_pending"))
        .select_from(members.outerjoin(per_lots, per_lots.c.member_id == m.id))
        .where(m.shop_id == shop_id,
               (positive != func.coalesce(per_lots.c.available, 0))
               | (m.pending != func.coalesce(per_lots.c.pending, 0))))

    results["balance_bounds"] = _rows(conn, select(m.id, m.available, m.pending).where(
        m.shop_id == shop_id, (m.available < -program.clawback.max_negative) | (m.pending < 0)))

    t = transactions.c
    # Through the earn each take-back refers to: a referral void names the friend's order but
    # takes back the friend's referral bonus, not the order's points.
    taken = (select(t.refers_to, func.sum(t.points).label("taken")).where(
        t.shop_id == shop_id, t.kind.in_(("clawback", "cancel"))).group_by(t.refers_to).subquery())
    results["clawback_caps"] = _rows(conn, select(orders.c.order_id, orders.c.points, taken.c.taken)
                                     .join(taken, taken.c.refers_to == orders.c.transaction_id)
                                     .where(orders.c.shop_id == shop_id, -taken.c.taken > orders.c.points))

    checks = {name: {"ok": not rows, "problems": rows} for name, rows in results.items()}
    return {"ok": all(c["ok"] for c in checks.values()), "checks": checks}
