"""loyalty-sdk: a customer loyalty program embedded in the store you already have."""

from loyalty_sdk.core.errors import LoyaltyError
from loyalty_sdk.core.hookspecs import hookimpl
from loyalty_sdk.core.models import (
    Activity,
    Award,
    Cancellation,
    LineItem,
    Member,
    MemberRef,
    Order,
    Refund,
    RefundLine,
    Reward,
    TierDecision,
)
from loyalty_sdk.core.money import Money
from loyalty_sdk.core.program import Program, load_program
from loyalty_sdk.facade import Loyalty

__all__ = [
    "Activity",
    "Award",
    "Cancellation",
    "LineItem",
    "Loyalty",
    "LoyaltyError",
    "Member",
    "MemberRef",
    "Money",
    "Order",
    "Program",
    "Refund",
    "RefundLine",
    "Reward",
    "TierDecision",
    "hookimpl",
    "load_program",
]
