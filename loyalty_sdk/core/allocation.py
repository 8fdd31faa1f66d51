"""Exact splitting of money and points: discounts across lines, points across lines.

Both use the largest-remainder method so the parts always add up to the whole, which is what
lets a refund of every line take back exactly what the order earned.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loyalty_sdk.core.models import Order


def split_int(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` that sum to ``total``.

    Each part gets the floor of its share; the units left over go to the largest remainders
    (earliest first on ties), so the result is deterministic. Weights are non-negative integers
    (scale exact fractions to a common denominator first).
    """
    count = len(weights)
    if count <= 1:
        return [total] if count else []
    weight_sum = sum(weights)
    if weight_sum == 0:
        return [total] + [0] * (count - 1)
    magnitude = -total if total < 0 else total
    scaled = [magnitude * w for w in weights]
    parts = [product // weight_sum for product in scaled]
    left = magnitude - sum(parts)  # fewer than ``count`` units
    if left == 1:
        remainders = [product % weight_sum for product in scaled]
        parts[remainders.index(max(remainders))] += 1
    elif left:
        remainders = [product % weight_sum for product in scaled]
        # Largest remainders first; sorted() is stable, so ties go to the earliest line.
        for i in sorted(range(count), key=remainders.__getitem__, reverse=True)[:left]:
            parts[i] += 1
    return [-part for part in parts] if total < 0 else parts


def line_nets(order: Order) -> dict[str, int]:
    """Merchandise value of each line, in minor units, after its own discount, its share of the
    order discount and, when prices include tax, the tax it contains. Shipping is never part of
    a line.

    The order discount is allocated in proportion to what the customer paid for each line after
    line discounts, in minor units, so the allocation adds up to the discount exactly. Gift card
    lines take no share (the discount did not buy a gift card) and are returned as they are;
    whether they earn is the earning rule's business.
    """
    taxed = order.taxes_included
    nets: dict[str, int] = {}
    paid: dict[str, int] = {}  # what the customer paid for the line, tax included if prices include it
    for line in order.lines:
        value = line.unit_price.minor * line.quantity
        if line.discount is not None:
            value -= line.discount.minor
        if value < 0:
            value = 0
        paid[line.line_id] = value
        if taxed and line.tax is not None:
            value = max(value - line.tax.minor, 0)
        nets[line.line_id] = value
    discount = order.order_discount
    if discount is not None and discount.minor:
        sharing = [line.line_id for line in order.lines if not line.gift_card and paid[line.line_id] > 0]
        parts = split_int(discount.minor, [paid[line_id] for line_id in sharing])
        for line_id, part in zip(sharing, parts, strict=True):
            net = nets[line_id]
            if net != paid[line_id]:
                # A tax-inclusive share lowered the tax too: only the net part of it counts.
                part = part * net // paid[line_id]
            nets[line_id] = max(net - part, 0)
    return nets


def round_ratio(numerator: int, denominator: int, mode: str) -> int:
    """``numerator / denominator`` rounded to an integer under a program rounding mode, exactly
    (integers throughout, no Decimal context). ``denominator`` must be positive."""
    if mode == "floor":
        return numerator // denominator
    if mode == "ceil":
        return -(-numerator // denominator)
    whole, rest = divmod(numerator, denominator)  # floor, and a remainder in [0, denominator)
    twice = 2 * rest
    if twice > denominator:
        return whole + 1
    if twice < denominator:
        return whole
    if mode == "half_even":
        return whole + (whole & 1)
    return whole + 1 if numerator > 0 else whole  # half_up: ties away from zero

