"""How many points a refund or cancellation takes back, from what the order earned.

The computation uses the awards recorded on the order's earn transaction, never today's
program. It is cumulative: after each refund the total taken back is the points of the refunded
share of each line (rounded down, in the member's favour), so the last refund of everything
takes back exactly what is left and the sum never exceeds what the order earned.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

from attrs import frozen

from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.models import Refund


@frozen
class RefundedSoFar:
    """Cumulative refunded quantity and net amount (minor units) per line, and unlined amount."""

    quantity: Mapping[str, int]
    amount_minor: Mapping[str, int]
    unlined_minor: int


@frozen
class ClawbackPlan:
    points: int
    """Points to take back now."""
    refunded: RefundedSoFar
    """The cumulative refund state after this refund, to store on its transaction."""
    spend_minor: int
    """Eligible merchandise refunded by this refund, in minor units."""


def _floor(value: Fraction) -> int:
    return math.floor(value)


def refunded_so_far(details: Iterable[Mapping[str, Any]]) -> RefundedSoFar:
    quantity: dict[str, int] = {}
    amount: dict[str, int] = {}
    unlined = 0
    for detail in details:
        for line_id, q in detail.get("refunded_quantity", {}).items():
            quantity[line_id] = quantity.get(line_id, 0) + q
        for line_id, a in detail.get("refunded_minor", {}).items():
            amount[line_id] = amount.get(line_id, 0) + a
        unlined += detail.get("refunded_unlined_minor", 0)
    return RefundedSoFar(quantity, amount, unlined)


def _fractions(earn: Mapping[str, Any], state: RefundedSoFar) -> tuple[dict[str, Fraction], Fraction]:
    """Refunded share of each line and of the order's eligible amount, as exact fractions
    (a Decimal 1/3 is 0.333..., and 30 points x 0.333... floors to 9 instead of 10)."""
    lines = earn["lines"]
    eligible = Fraction(earn["eligible_minor"]) or Fraction(1)
    # An amount refunded without lines (Stripe refunds have none) is spread over the eligible
    # lines in proportion to their value, so it takes back points from each of them.
    unlined = Fraction(state.unlined_minor) / eligible
    shares: dict[str, Fraction] = {}
    # With no eligible value to spread over, any amount refunded refunds the whole order.
    refunded_eligible = Fraction(0) if earn["eligible_minor"] else Fraction(state.unlined_minor)
    for line_id, (qty, net_minor, points) in lines.items():
        counts = points > 0 or not any(p for _, _, p in lines.values())
        by_qty = Fraction(state.quantity.get(line_id, 0), qty) if qty else Fraction(0)
        by_amount = Fraction(state.amount_minor.get(line_id, 0), net_minor) if net_minor else Fraction(0)
        share = min(Fraction(1), by_qty + by_amount + (unlined if counts else 0))
        shares[line_id] = share
        if counts:
            refunded_eligible += share * net_minor
    return shares, min(Fraction(1), refunded_eligible / eligible)


def taken_back(earn: Mapping[str, Any], state: RefundedSoFar) -> int:
    """Total points the refunds in ``state`` take back from the order."""
    shares, order_share = _fractions(earn, state)
    total = sum(_floor(points * shares[line_id]) for line_id, (_, _, points) in earn["lines"].items())
    total += _floor(earn.get("unlined", 0) * order_share)
    return total


def plan_refund(earn: Mapping[str, Any], previous: RefundedSoFar, already: int, earned: int, refund: Refund,
                currency: str) -> ClawbackPlan:
    """Points to take back for ``refund``, given the refunds before it."""
    quantity = dict(previous.quantity)
    amount = dict(previous.amount_minor)
    unlined = previous.unlined_minor
    lines = earn["lines"]
    for line in refund.lines:
        if line.line_id not in lines:
            raise InvalidInput(
                f"refund {refund.refund_id} names line {line.line_id!r}, which order {refund.order_id} does not have",
                field="line_id", value=line.line_id,
            )
        if line.amount is not None:
            if line.amount.currency != currency:
                raise InvalidInput(f"refund {refund.refund_id} is in {line.amount.currency}, order in {currency}",
                                   field="currency", value=line.amount.currency)
            amount[line.line_id] = amount.get(line.line_id, 0) + line.amount.to_minor()
        if line.quantity:
            quantity[line.line_id] = quantity.get(line.line_id, 0) + line.quantity
    if not refund.lines and refund.amount is not None:
        if refund.amount.currency != currency:
            raise InvalidInput(f"refund {refund.refund_id} is in {refund.amount.currency}, order in {currency}",
                               field="currency", value=refund.amount.currency)
        minor = refund.amount.to_minor()
        # Refunded to date: the order's refunded amount is now this much, never less.
        unlined = max(unlined, minor) if refund.to_date else unlined + minor
    state = RefundedSoFar(quantity, amount, unlined)
    _, before = _fractions(earn, previous)
    _, after = _fractions(earn, state)
    spend = _floor((after - before) * earn["eligible_minor"])
    target = min(taken_back(earn, state), earned)
    return ClawbackPlan(max(0, target - already), state, spend)


def plan_cancel(earned: int, already: int) -> int:
    """A cancellation takes back everything not yet taken back."""
    return max(0, earned - already)


def state_detail(state: RefundedSoFar, previous: RefundedSoFar) -> dict[str, Any]:
    """What to store on this refund's transaction: the increments it added."""
    return {
        "refunded_quantity": {k: v - previous.quantity.get(k, 0) for k, v in state.quantity.items()
                              if v != previous.quantity.get(k, 0)},
        "refunded_minor": {k: v - previous.amount_minor.get(k, 0) for k, v in state.amount_minor.items()
                           if v != previous.amount_minor.get(k, 0)},
        "refunded_unlined_minor": state.unlined_minor - previous.unlined_minor,
    }
