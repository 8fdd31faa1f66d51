"""Holds on orders: while a payment is disputed, the points it earned that are still pending
stay pending; the release job passes them by until the hold ends.

A hold is a mark on the order, not a posting: it moves no points, so the books and the
member's balance read the same with or without it. Ending the hold lets the next release run
make the points available (if their return window has passed by then). A dispute lost takes
them back through a cancellation instead. Points already available when the dispute opens
stay spendable: what a lost dispute takes from them may leave the member negative, as any
late clawback can (see the program's ``write_off``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from loyalty_sdk.core.books import Books
from loyalty_sdk.core.errors import OrderNotFound
from loyalty_sdk.core.ledger import utc
from loyalty_sdk.core.storage import orders


def hold_order(books: Books, order_id: str, reason: str, at: datetime) -> bool:
    """Hold the order's pending points; False when it was already held (a replay)."""
    with books.write() as conn:
        _require(conn, books.shop_id, order_id)
        changed = conn.execute(
            update(orders)
            .where(orders.c.shop_id == books.shop_id, orders.c.order_id == order_id, orders.c.held_since.is_(None))
            .values(held_since=utc(at), hold_reason=reason[:255])
        ).rowcount
    return bool(changed)


def release_hold(books: Books, order_id: str) -> bool:
    """End the order's hold; False when it had none."""
    with books.write() as conn:
        _require(conn, books.shop_id, order_id)
        changed = conn.execute(
            update(orders)
            .where(orders.c.shop_id == books.shop_id, orders.c.order_id == order_id, orders.c.held_since.is_not(None))
            .values(held_since=None, hold_reason=None)
        ).rowcount
    return bool(changed)


def _require(conn, shop_id: str, order_id: str) -> None:
    found = conn.scalar(select(orders.c.id).where(orders.c.shop_id == shop_id, orders.c.order_id == order_id))
    if found is None:
        # Disputes can arrive before the payment's own event: the inbox tries again later.
        raise OrderNotFound(f"order {order_id!r} was never recorded in shop {shop_id!r}", field="order_id",
                            value=order_id)


__all__ = ["hold_order", "release_hold"]
