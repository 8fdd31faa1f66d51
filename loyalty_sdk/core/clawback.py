"""How many points a refund or cancellation takes back, from what the order earned.

The computation uses the awards recorded on the order's earn transaction, never today's
program. It is cumulative: after each refund the total taken back is the points of the refunded
share of each line (rounded down, in the member's favour), so the last refund of everything
takes back exactly what is left and the sum never exceeds what the order earned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_FLOOR, Decimal
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


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


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


def _fractions(earn: Mapping[str, Any], state: RefundedSoFar) -> tuple[dict[str, Decimal], Decimal]:
    """Refunded share of each line and of the order's eligible amount."""
    lines = earn["lines"]
    eligible = Decimal(earn["eligible_minor"]) or Decimal(1)
    shares: dict[str, Decimal] = {}
    refunded_eligible = Decimal(state.unlined_minor)
    for line_id, (qty, net_minor, points) in lines.items():
        by_qty = Decimal(state.quantity.get(line_id, 0)) / qty if qty else Decimal(0)
        by_amount = Decimal(state.amount_minor.get(line_id, 0)) / net_minor if net_minor else Decimal(0)
        share = min(Decimal(1), by_qty + by_amount)
        shares[line_id] = share
        if points > 0 or not any(p for _, _, p in lines.values()):
            refunded_eligible += share * net_minor
    return shares, min(Decimal(1), refunded_eligible / eligible)


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
        unlined += refund.amount.to_minor()
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
