"""Exact splitting of money and points: discounts across lines, points across lines.

Both use the largest-remainder method so the parts always add up to the whole, which is what
lets a refund of every line take back exactly what the order earned.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from loyalty_sdk.core.models import Order
from loyalty_sdk.core.money import MINOR_UNITS

ROUNDING = {
    "floor": ROUND_FLOOR,
    "ceil": ROUND_CEILING,
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
}


def round_points(value: Decimal, mode: str) -> int:
    """Points from an exact Decimal under the program's rounding mode."""
    return int(value.to_integral_value(rounding=ROUNDING[mode]))


def split_int(total: int, weights: Sequence[Decimal | int]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` that sum to ``total``.

    Each part gets the floor of its share; the units left over go to the largest remainders
    (earliest first on ties), so the result is deterministic. Weights must not be negative.
    """
    weight_sum = sum(weights)
    if not weights:
        return []
    if weight_sum == 0:
        return [total] + [0] * (len(weights) - 1) if total else [0] * len(weights)
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    shares = [Decimal(magnitude) * Decimal(w) / Decimal(weight_sum) for w in weights]
    parts = [int(s.to_integral_value(rounding=ROUND_FLOOR)) for s in shares]
    left = magnitude - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(shares[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    return [sign * p for p in parts]


def line_nets(order: Order) -> dict[str, Decimal]:
    """Merchandise value of each line after its own discount, its share of the order discount
    and, when prices include tax, the tax it contains. Shipping is never part of a line.

    The order discount is allocated in proportion to each line's value after line discounts,
    in minor units, so the allocation adds up to the discount exactly. Gift card lines take no
    share (the discount did not buy a gift card) and are returned as they are; whether they earn
    is the earning rule's business.
    """
    exponent = MINOR_UNITS[order.currency]
    with_tax: dict[str, Decimal] = {}
    after_line: dict[str, Decimal] = {}
    for line in order.lines:
        value = line.gross
        if line.discount is not None:
            value -= line.discount.amount
        with_tax[line.line_id] = max(value, Decimal(0))
        if order.taxes_included and line.tax is not None:
            value -= line.tax.amount
        after_line[line.line_id] = max(value, Decimal(0))
    if order.order_discount is not None and order.order_discount.amount:
        # Shares follow what the customer paid per line (tax included when prices include it);
        # a tax-inclusive share is then reduced by the line's tax ratio, as the discount
        # lowered the tax too.
        sharing = [line.line_id for line in order.lines if not line.gift_card and with_tax[line.line_id] > 0]
        discount_minor = order.order_discount.to_minor()
        weights = [with_tax[i] for i in sharing]
        for line_id, part in zip(sharing, split_int(discount_minor, weights), strict=True):
            share = Decimal(part).scaleb(-exponent)
            if with_tax[line_id] != after_line[line_id]:
                share = share * after_line[line_id] / with_tax[line_id]
            after_line[line_id] = max(after_line[line_id] - share, Decimal(0))
    quantum = Decimal(1).scaleb(-exponent)
    return {line_id: value.quantize(quantum) for line_id, value in after_line.items()}
