"""Points on spend: the base earning rule.

A member earns ``program.earn.rate(currency)`` points per whole unit of money actually spent on
eligible merchandise: each line's price after its own discount, its share of the order discount
and (in tax-inclusive shops) the tax it contains. Gift cards, shipping and the products, SKUs and
collections the program excludes earn nothing. An order whose eligible spend is below
``earn.min_order`` earns nothing at all.

Points are rounded once for the whole order (three lines of 0.40 earn 1 point, not 0) and then
shared out across the eligible lines in proportion to their spend, so each award names its line
and a refund of that line can take back exactly its share.
"""

from __future__ import annotations

from collections.abc import Sequence

from loyalty_sdk.core.allocation import split_int
from loyalty_sdk.core.hookspecs import hookimpl
from loyalty_sdk.core.models import Award, LineItem, Member, Order
from loyalty_sdk.core.program import EarnRules, Program

RULE_ID = "earn.spend"


def earns(line: LineItem, rules: EarnRules) -> bool:
    """Whether ``line`` can earn points under ``rules`` (gift cards and exclusions cannot)."""
    if line.gift_card:
        return False
    if line.product_id is not None and line.product_id in rules.exclude_product_ids:
        return False
    if line.sku is not None and line.sku in rules.exclude_skus:
        return False
    return rules.exclude_collections.isdisjoint(line.collections)


def points_label(points: int) -> str:
    """``"1 point"``, ``"25 points"``."""
    return f"{points} point" if abs(points) == 1 else f"{points} points"


@hookimpl(trylast=True)
def loyalty_order_awards(order: Order, member: Member, program: Program) -> Sequence[Award]:
    """One ``earn.spend`` award per eligible line; an empty list when the order earns nothing."""
    rules = program.earn
    nets = order.line_nets
    filtered = rules.excludes
    eligible: list[LineItem] = []
    weights: list[int] = []
    for line in order.lines:
        net = nets[line.line_id]
        if net > 0 and not line.gift_card and (not filtered or earns(line, rules)):
            eligible.append(line)
            weights.append(net)
    if not eligible:
        return []
    total = rules.spend_points(sum(weights), order.currency)
    if total <= 0:
        return []
    return [
        Award(points, f"{points_label(points)} on {line.title or 'line ' + line.line_id}", RULE_ID, line.line_id)
        for line, points in zip(eligible, split_int(total, weights), strict=True)
        if points > 0
    ]
