"""The REST API's requests and answers (``/api/v1``), as pydantic models: they validate what a
client sends and are what ``/openapi.json`` documents. The routes are in :mod:`.api`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from loyalty_sdk.core.errors import LoyaltyError
from loyalty_sdk.core.models import Member, Reward
from loyalty_sdk.core.money import Money
from loyalty_sdk.core.program import (
    ActivityRule,
    Campaign,
    Clawback,
    EarnRules,
    Expiry,
    ProgramInfo,
    RewardRule,
    Stacking,
    Tiers,
)
from loyalty_sdk.facade import Loyalty
from loyalty_sdk.server.schemas import (
    Day,
    Email,
    Identifier,
    Moment,
    OrderIn,
    PersonName,
    RefundIn,
    named_by,
    whole_number,
)

MAX_ID = 2**63 - 1
MAX_POINTS = 1_000_000_000
"""The most points one adjustment or redemption may name."""


# -- answers ---------------------------------------------------------------------------------------


class Problem(BaseModel):
    """Every error: a stable ``error`` code to branch on, a ``detail`` for people, the ``field``."""

    error: str
    detail: Any
    field: str | None = None


def problem_answers(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": Problem} for status in (400, 401, 403, 404, 422, *statuses)}


class Balance(BaseModel):
    available: int
    pending: int


class MemberOut(BaseModel):
    id: int
    email: str | None
    customer_id: str | None
    name: str | None
    birthday: date | None
    balance: Balance
    tier: str | None
    tier_since: datetime | None
    lifetime_points: int
    enrolled_at: datetime
    last_activity_at: datetime | None

    @classmethod
    def of(cls, member: Member) -> MemberOut:
        return cls(id=member.id, email=member.email, customer_id=member.customer_id, name=member.name,
                   birthday=member.birthday, balance=Balance(available=member.available, pending=member.pending),
                   tier=member.tier, tier_since=member.tier_since, lifetime_points=member.lifetime_points,
                   enrolled_at=member.enrolled_at, last_activity_at=member.last_activity_at)


class MembersOut(BaseModel):
    members: list[MemberOut]


class MemberBalance(BaseModel):
    member_id: int
    available: int
    pending: int
    lifetime_points: int
    tier: str | None


class TransactionOut(BaseModel):
    id: int
    at: datetime
    kind: str
    points: int
    reason: str
    order_id: str | None
    rules: list[str]
    cause: dict[str, Any]


class TransactionsOut(BaseModel):
    transactions: list[TransactionOut]


class LotOut(BaseModel):
    id: int
    points: int
    remaining: int
    status: str
    earned_at: datetime
    available_at: datetime
    expires_at: datetime | None


class LotsOut(BaseModel):
    lots: list[LotOut]


class RewardOut(BaseModel):
    id: str
    name: str
    kind: str
    points: int
    value: str | None = Field(description="Amount off, percent off or the product's price, as a decimal string.")
    currency: str | None
    min_points: int | None
    max_points: int | None
    step: int
    tiers: list[str]
    limit_per_member: int | None
    product_id: str | None
    min_order: str | None

    @classmethod
    def of(cls, reward: Reward) -> RewardOut:
        return cls(id=reward.id, name=reward.name, kind=reward.kind, points=reward.points,
                   value=decimal_text(reward.value), currency=reward.currency, min_points=reward.min_points,
                   max_points=reward.max_points, step=reward.step, tiers=sorted(reward.tiers),
                   limit_per_member=reward.limit_per_member, product_id=reward.product_id,
                   min_order=decimal_text(reward.min_order))


class RewardsOut(BaseModel):
    rewards: list[RewardOut]


class RedemptionOut(BaseModel):
    id: int
    member_id: int
    reward_id: str
    points: int
    value: str | None
    currency: str | None
    code: str | None = Field(description="The discount code to give the customer.")
    status: str
    transaction_id: int
    replayed: bool
    balance: Balance


class AdjustmentOut(BaseModel):
    transaction_id: int
    member_id: int
    points: int
    replayed: bool
    balance: Balance


class RedactionOut(BaseModel):
    member_id: int
    redacted: bool = Field(description="False when the member had been redacted before (nothing changed).")


class AwardOut(BaseModel):
    points: int
    reason: str
    rule_id: str
    line_id: str | None


class OrderOut(BaseModel):
    order_id: str
    member_id: int
    points: int
    pending: bool = Field(description="Whether the points wait out the return window before they can be spent.")
    awards: list[AwardOut]
    transaction_id: int
    replayed: bool
    enrolled: bool = Field(description="Whether this order made the customer a member.")
    balance: Balance


class TakeBackOut(BaseModel):
    order_id: str
    member_id: int
    taken_back: int = Field(description="Points taken back from the member.")
    written_off: int = Field(description="Points the program's policy forgave (already spent).")
    transaction_id: int | None
    replayed: bool
    balance: Balance


class ActivityOut(BaseModel):
    member_id: int
    kind: str
    points: int
    transaction_id: int | None = Field(description="None when the activity earned nothing (no rule, or a limit).")
    replayed: bool
    enrolled: bool
    balance: Balance


class ShopOut(BaseModel):
    id: str
    platform: str
    currency: str
    timezone: str


class ProgramOut(BaseModel):
    """The program as loaded (``loyalty.toml``), with the version each transaction records."""

    version: str
    shop: ShopOut
    program: ProgramInfo
    earn: EarnRules
    stacking: Stacking
    campaigns: list[Campaign]
    activities: list[ActivityRule]
    tiers: Tiers
    expiry: Expiry
    clawback: Clawback
    rewards: list[RewardRule]


def decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def money_text(value: Money | None) -> str | None:
    return None if value is None else str(value.amount.quantize(Decimal(1).scaleb(-value.exponent)))


def balance_of(loyalty: Loyalty, member_id: int) -> Balance:
    member = loyalty.member(member_id)
    return Balance(available=member.available, pending=member.pending)


class RewardNotIssued(LoyaltyError):
    """The platform failed to create the reward's code; the points were given back."""

    code = "reward_not_issued"
    status = 502


# -- requests --------------------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EnrollIn(_Body):
    """A new member: the store's customer id, the email, or both."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=named_by("customer_id", "email"))

    customer_id: Identifier | None = None
    email: Email | None = None
    name: PersonName | None = None
    birthday: Day | None = None

    @model_validator(mode="after")
    def _named(self) -> EnrollIn:
        if not self.customer_id and not self.email:
            raise ValueError("a member needs a customer_id or an email")
        return self


class RedemptionIn(_Body):
    reward_id: Annotated[str, Field(min_length=1, max_length=64)]
    points: whole_number(1, MAX_POINTS) | None = Field(  # type: ignore[valid-type]
        default=None, description="For `points_as_money` rewards: how many points to spend.")


class AdjustmentIn(_Body):
    points: whole_number(-MAX_POINTS, MAX_POINTS, **{"not": {"const": 0}}) = Field(  # type: ignore[valid-type]
        description="Points to add, or (negative) to remove; not zero.")
    reason: Annotated[str, Field(min_length=1, max_length=500, pattern=r"\S")] = Field(
        description="Why: recorded on the transaction and shown in the member's history.")

    @field_validator("points")
    @classmethod
    def _not_zero(cls, points: int) -> int:
        if points == 0:
            raise ValueError("must not be zero")
        return points

    @field_validator("reason")
    @classmethod
    def _said(cls, reason: str) -> str:
        if not reason.strip():
            raise ValueError("must not be blank")
        return reason


class OrderBody(OrderIn):
    """A paid order. Amounts are strings in ``currency``; ``discount`` on a line is that line's own."""


class RefundBody(RefundIn):
    """A refund of the order in the path: by line (preferred), or as a merchandise ``amount``.
    ``id`` is the store's refund id: the same id again is a replay."""

    order_id: Annotated[str, Field(min_length=1, max_length=255)] | None = Field(
        default=None, description="Optional; when given it must be the order in the path.")


class CancellationBody(_Body):
    cancelled_at: Moment | None = Field(default=None, description="Default: now.")
    reason: Annotated[str, Field(min_length=1, max_length=255)] = "cancelled"
