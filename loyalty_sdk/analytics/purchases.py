"""Who buys, how often and how much: members against non-members.

Every order the books know is one of:

- a ledger order (``orders``, recorded through ``record_order``): a member's order. It is a
  *member order* when placed at or after the member's enrollment, and a *non-member order*
  when placed before it (history a store backfilled when the customer joined);
- a non-member order (``non_member_orders``, through ``record_non_member_order``) of a
  customer named by the store's customer id or a guest's e-mail. It belongs to the member with
  that customer id (else the lowest-numbered member with that e-mail) when there is one, and
  is a member order only if placed at or after that member's enrollment.

Cancelled ledger orders (a ``cancel`` transaction) are left out everywhere; refunds are not
deducted (revenue is gross merchandise value, before discounts, as the order recorded it). A
non-member order whose id was also recorded in the ledger counts once, as the ledger's.
"""

from __future__ import annotations

from decimal import Decimal

from attrs import frozen
from sqlalchemy import String, and_, case, cast, exists, func, literal, select, union, union_all
from sqlalchemy.sql import Subquery

from loyalty_sdk.analytics.figures import Figures, rate
from loyalty_sdk.analytics.period import Period
from loyalty_sdk.analytics.scope import Scope, scope_of
from loyalty_sdk.core.money import Money
from loyalty_sdk.core.storage import members, non_member_orders, orders, transactions


def order_facts(scope: Scope) -> Subquery:
    """One row per order of the shop: ``customer`` (a key that is the same for all of one
    customer's orders), ``member_id`` (None for customers who never enrolled), ``is_member``
    (1 for a member order), ``placed_at``, ``currency``, ``gross_minor``."""
    o, m, t, nm = orders.c, members.c, transactions.c, non_member_orders.c
    cancelled = exists().where(t.shop_id == scope.shop_id,
                               t.idempotency_key == literal("order:") + o.order_id + literal(":cancel"))
    ledger_orders = (
        select((literal("m:") + cast(o.member_id, String)).label("customer"), o.member_id.label("member_id"),
               case((o.placed_at >= m.enrolled_at, 1), else_=0).label("is_member"), o.placed_at, o.currency,
               o.gross_minor)
        .select_from(orders.join(members, m.id == o.member_id))
        .where(o.shop_id == scope.shop_id, ~cancelled)
    )
    by_id = members.alias("by_id")
    by_email = members.alias("by_email")
    matched = func.coalesce(
        select(by_id.c.id).where(by_id.c.shop_id == scope.shop_id, by_id.c.customer_id == nm.customer)
        .scalar_subquery(),
        select(func.min(by_email.c.id)).where(by_email.c.shop_id == scope.shop_id, by_email.c.email == nm.customer)
        .scalar_subquery(),
    )
    in_ledger = exists().where(o.shop_id == scope.shop_id, o.order_id == nm.order_id)
    others = (
        select(nm.customer, matched.label("member_id"), nm.placed_at, nm.currency, nm.gross_minor)
        .where(nm.shop_id == scope.shop_id, ~in_ledger)
        .subquery("others")
    )
    matched_member = members.alias("matched")
    outside = (
        select(func.coalesce(literal("m:") + cast(others.c.member_id, String), literal("c:") + others.c.customer)
               .label("customer"),
               others.c.member_id,
               case((and_(others.c.member_id.is_not(None), others.c.placed_at >= matched_member.c.enrolled_at), 1),
                    else_=0).label("is_member"),
               others.c.placed_at, others.c.currency, others.c.gross_minor)
        .select_from(others.outerjoin(matched_member, matched_member.c.id == others.c.member_id))
    )
    return union_all(ledger_orders, outside).subquery("order_facts")


@frozen
class BuyerGroup(Figures):
    """How one group of customers (members, or non-members) bought during the period.

    ``customers``: distinct customers with at least one of the group's orders in the period;
    ``repeat_customers``: those with two or more. ``revenue`` and ``average_order_value``
    count only orders in the program's currency (``priced_orders`` of them)."""

    customers: int
    orders: int
    repeat_customers: int
    repeat_purchase_rate: Decimal | None
    purchase_frequency: Decimal | None
    priced_orders: int
    revenue: Money
    average_order_value: Money | None


@frozen
class Purchases(Figures):
    """Members against non-members over a period, and the members' share of revenue."""

    period: Period
    members: BuyerGroup
    non_members: BuyerGroup
    member_revenue_share: Decimal | None


def _group(scope: Scope, row: object | None) -> BuyerGroup:
    customers, count, repeat, revenue, priced = (
        (0, 0, 0, 0, 0) if row is None else (int(v or 0) for v in row[1:]))  # type: ignore[index]
    money = scope.money(revenue)
    return BuyerGroup(
        customers=customers, orders=count, repeat_customers=repeat, repeat_purchase_rate=rate(repeat, customers),
        purchase_frequency=rate(count, customers), priced_orders=priced, revenue=money,
        average_order_value=Money(money.amount / priced, scope.currency).quantized() if priced else None,
    )


def purchases(source: object, period: Period | None = None) -> Purchases:
    """Customers, orders, repeat purchase rate, frequency, revenue and average order value of
    members and of non-members during ``period`` (default: the last twelve months)."""
    scope = scope_of(source)
    period = scope.period(period)
    facts = order_facts(scope)
    priced = facts.c.currency == scope.currency
    per_customer = (
        select(facts.c.customer, facts.c.is_member, func.count().label("orders"),
               func.sum(case((priced, facts.c.gross_minor), else_=0)).label("revenue"),
               func.sum(case((priced, 1), else_=0)).label("priced"))
        .where(facts.c.placed_at >= period.start, facts.c.placed_at < period.end)
        .group_by(facts.c.customer, facts.c.is_member)
        .subquery("per_customer")
    )
    c = per_customer.c
    query = select(c.is_member, func.count(), func.sum(c.orders), func.sum(case((c.orders >= 2, 1), else_=0)),
                   func.sum(c.revenue), func.sum(c.priced)).group_by(c.is_member)
    with scope.read() as conn:
        rows = {int(row[0]): row for row in conn.execute(query)}
    member, other = _group(scope, rows.get(1)), _group(scope, rows.get(0))
    total = member.revenue.amount + other.revenue.amount
    return Purchases(period, member, other, rate(member.revenue.amount, total))


def customer_count(scope: Scope, end: object) -> int:
    """Customers known before ``end``: members enrolled before it, and everyone with an order
    placed before it (each customer once)."""
    facts = order_facts(scope)
    m = members.c
    keys = union(
        select((literal("m:") + cast(m.id, String)).label("customer"))
        .where(m.shop_id == scope.shop_id, m.enrolled_at < end),
        select(facts.c.customer).where(facts.c.placed_at < end),
    ).subquery("customers")
    with scope.read() as conn:
        return int(conn.execute(select(func.count()).select_from(keys)).scalar_one())


__all__ = ["BuyerGroup", "Purchases", "customer_count", "order_facts", "purchases"]
