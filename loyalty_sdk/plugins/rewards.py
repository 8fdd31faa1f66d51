"""The rewards catalog: what a member may redeem points for, and when a redemption is refused.

Each ``[[rewards]]`` entry of the program is offered to members of its ``tiers`` (to everyone
when it names none). A fixed reward costs exactly its ``points``. "Pay with points"
(``points_as_money``) lets the member choose how many points to spend, between ``min_points``
and ``max_points`` in multiples of ``step``; each point is worth ``program.point_value`` in the
program's currency. A reward with ``limit_per_member`` can be redeemed that many times per member.

Whether the member has enough points is the ledger's check, not this module's.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from loyalty_sdk.core.errors import RedemptionRefused
from loyalty_sdk.core.hookspecs import hookimpl
from loyalty_sdk.core.models import Member, Redemption, Reward, RewardUsage
from loyalty_sdk.core.money import Money
from loyalty_sdk.core.program import Program, RewardRule

CODE_PREFIX = "LOYAL-"
CODE_LENGTH = 10
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""No 0/O or 1/I: codes are read aloud and typed from emails."""


def reward_from_rule(rule: RewardRule, program: Program) -> Reward:
    """The catalog entry for one program rule, priced in the program's currency."""
    choosable = rule.kind == "points_as_money"
    return Reward(
        id=rule.id,
        name=rule.name,
        kind=rule.kind,
        # Pay-with-points is listed at its cheapest; its value follows the points chosen.
        points=rule.min_points if choosable and rule.min_points is not None else rule.points,
        value=None if choosable else rule.value,
        currency=program.program.currency,
        min_points=rule.min_points,
        max_points=rule.max_points,
        step=rule.step,
        tiers=frozenset(rule.tiers),
        limit_per_member=rule.limit_per_member,
        product_id=rule.product_id,
        min_order=rule.min_order,
    )


def eligible(tier: str | None, tiers: frozenset[str]) -> bool:
    """Whether a member of ``tier`` may take a reward limited to ``tiers`` (empty: everyone)."""
    return not tiers or tier in tiers


def reward_value(reward: Reward, points: int, program: Program) -> Money | None:
    """What the reward is worth in money, or None when that depends on the order.

    ``percent_off`` keeps its percent on ``reward.value`` and ``free_shipping`` has no fixed
    worth, so both give None. Pay-with-points is ``points × point_value``, rounded to the
    currency's minor unit.
    """
    currency = reward.currency or program.program.currency
    if reward.kind == "points_as_money":
        return (Money(Decimal(points), currency) * program.program.point_value).quantized()
    if reward.kind in ("fixed_amount", "free_product") and reward.value is not None:
        return Money(reward.value, currency)
    return None


def _refuse(reward: Reward, why: str, *, field: str, value: Any) -> RedemptionRefused:
    return RedemptionRefused(f"reward {reward.id!r}: {why}", field=field, value=value)


@hookimpl(trylast=True)
def loyalty_rewards(member: Member, program: Program) -> Sequence[Reward]:
    """Every program reward the member's tier allows."""
    return [reward_from_rule(rule, program) for rule in program.rewards if eligible(member.tier, rule.tiers)]


@hookimpl(trylast=True)
def loyalty_validate_redemption(
    member: Member, reward: Reward, points: int, usage: RewardUsage, program: Program
) -> None:
    """Refuse a redemption the reward's own terms forbid: tier, per-member limit, points asked."""
    if not eligible(member.tier, reward.tiers):
        held = f"tier {member.tier!r}" if member.tier else "no tier"
        allowed = ", ".join(sorted(reward.tiers))
        raise _refuse(reward, f"only for {allowed} members; member has {held}", field="tier", value=member.tier)
    if reward.limit_per_member is not None and usage.redeemed >= reward.limit_per_member:
        times = "once" if reward.limit_per_member == 1 else f"{reward.limit_per_member} times"
        raise _refuse(
            reward,
            f"can be redeemed {times} per member and was already redeemed {usage.redeemed} time(s)",
            field="limit_per_member",
            value=usage.redeemed,
        )
    if reward.kind == "points_as_money":
        least = reward.min_points if reward.min_points is not None else reward.step
        if points < least:
            raise _refuse(reward, f"needs at least {least} points, got {points}", field="points", value=points)
        if reward.max_points is not None and points > reward.max_points:
            why = f"takes at most {reward.max_points} points, got {points}"
            raise _refuse(reward, why, field="points", value=points)
        if points % reward.step:
            why = f"takes points in multiples of {reward.step}, got {points}"
            raise _refuse(reward, why, field="points", value=points)
    elif points != reward.points:
        raise _refuse(reward, f"costs {reward.points} points, got {points}", field="points", value=points)


@hookimpl(trylast=True)
def loyalty_issue_reward(redemption: Redemption, member: Member, shop: Any) -> str:
    """A random local code, for stores with no platform plugin to create a real discount."""
    return CODE_PREFIX + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
