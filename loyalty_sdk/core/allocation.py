"""Exact splitting of money and points: discounts across lines, points across lines.

Both use the largest-remainder method so the parts always add up to the whole, which is what
lets a refund of every line take back exactly what the order earned.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from loyalty_sdk.core.money import MINOR_UNITS

if TYPE_CHECKING:
    from loyalty_sdk.core.models import Order

ROUNDING = {
    "floor": ROUND_FLOOR,
    "ceil": ROUND_CEILING,
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
}


def round_points(value: Decimal, mode: str) -> int:
    """Points from an exact Decimal under the program's rounding mode."""
    return int(value.to_integral_value(rounding=ROUNDING[mode]))


def split_int(total: int, weights: Sequence[int | Decimal]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` that sum to ``total``.

    Each part gets the floor of its share; the units left over go to the largest remainders
    (earliest first on ties), so the result is deterministic. Weights must not be negative;
    Decimal weights are compared to six decimal places.
    """
    count = len(weights)
    if count <= 1:
        return [total] if count else []
    if any(type(w) is not int for w in weights):
        weights = [int(w.scaleb(6).to_integral_value()) for w in weights]  # type: ignore[union-attr]
    weight_sum = sum(weights)
    if weight_sum == 0:
        return [total] + [0] * (count - 1)
    magnitude = -total if total < 0 else total
    parts = [magnitude * w // weight_sum for w in weights]
    left = magnitude - sum(parts)
    if left:
        remainders = [magnitude * w - part * weight_sum for w, part in zip(weights, parts, strict=True)]
        for _ in range(left):  # fewer than ``count`` units: pick the largest remainder, earliest on ties
            i = remainders.index(max(remainders))
            parts[i] += 1
            remainders[i] = -1
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
    exponent = MINOR_UNITS[order.currency]
    taxed = order.taxes_included
    paid: list[int] = []  # what the customer paid for the line, tax included if prices include it
    nets: list[int] = []
    for line in order.lines:
        value = minor(line.unit_price.amount, exponent) * line.quantity
        if line.discount is not None:
            value -= minor(line.discount.amount, exponent)
        value = max(value, 0)
        paid.append(value)
        if taxed and line.tax is not None:
            value = max(value - minor(line.tax.amount, exponent), 0)
        nets.append(value)
    discount = order.order_discount
    if discount is not None and discount.amount:
        sharing = [i for i, line in enumerate(order.lines) if not line.gift_card and paid[i] > 0]
        parts = split_int(minor(discount.amount, exponent), [paid[i] for i in sharing])
        for i, part in zip(sharing, parts, strict=True):
            if nets[i] != paid[i]:
                # A tax-inclusive share lowered the tax too: only the net part of it counts.
                part = part * nets[i] // paid[i]
            nets[i] = max(nets[i] - part, 0)
    return {line.line_id: net for line, net in zip(order.lines, nets, strict=True)}


def minor(amount: Decimal, exponent: int) -> int:
    """``amount`` in integer minor units, rounded half-even to the currency's precision."""
    scaled = amount.scaleb(exponent)
    whole = int(scaled)
    if whole == scaled:
        return whole
    return int(scaled.to_integral_value(rounding=ROUND_HALF_EVEN))
