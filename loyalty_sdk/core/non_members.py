"""Orders of customers who are not members: recorded for analytics only, they earn nothing.

Member analytics need a baseline: how often and how much everyone else buys. A store reports
the orders of customers who had not enrolled when they ordered; a member's own orders go
through :func:`loyalty_sdk.core.orders.record_order` instead.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from loyalty_sdk.core.books import Books
from loyalty_sdk.core.errors import InvalidInput, MemberNotFound
from loyalty_sdk.core.ledger import Raw, stored, utc
from loyalty_sdk.core.members import lookup
from loyalty_sdk.core.models import Order
from loyalty_sdk.core.storage import non_member_orders, orders


def record_non_member_order(books: Books, order: Order) -> bool:
    """Record ``order`` of a customer who was not a member when placing it; False when the
    order was recorded before (as a non-member's or a member's order). A member's order placed
    on or after their enrollment is refused: it earns points through ``record_order``."""
    if not isinstance(order, Order):
        raise InvalidInput(f"expected an Order, got {type(order).__name__}", field="order", value=order)
    customer = order.member.customer_id or order.member.email
    gross_minor = sum(line.unit_price.minor * line.quantity for line in order.lines)
    with books.write() as conn:
        try:
            member = lookup(Raw.of(conn), books.shop_id, [order.member])[order.member]
        except MemberNotFound:
            member = None
        if member is not None and stored(member.enrolled_at) <= order.placed_at:
            raise InvalidInput(f"customer {customer} has been a member since {member.enrolled_at.isoformat()}: "
                               f"record their order {order.order_id} with record_order", field="member",
                               value=customer)
        if conn.execute(select(orders.c.id).where(orders.c.shop_id == books.shop_id,
                                                  orders.c.order_id == order.order_id)).first() is not None:
            return False
        insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
        done = conn.execute(insert(non_member_orders).values(
            shop_id=books.shop_id, order_id=order.order_id, customer=customer, placed_at=utc(order.placed_at),
            currency=order.currency, gross_minor=gross_minor, recorded_at=utc(books.now()),
        ).on_conflict_do_nothing(index_elements=["shop_id", "order_id"]).returning(non_member_orders.c.id))
        return done.first() is not None


__all__ = ["record_non_member_order"]
