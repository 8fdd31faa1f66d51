"""The rewards catalog: who sees which reward, which redemptions are refused, what they are worth."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from loyalty_sdk.core.errors import RedemptionRefused
from loyalty_sdk.core.hookspecs import hookimpl
from loyalty_sdk.core.models import Member, Redemption, Reward, RewardUsage
from loyalty_sdk.core.money import Money
from loyalty_sdk.core.plugin_host import PluginHost
from loyalty_sdk.core.program import program_from_mapping
from loyalty_sdk.plugins import rewards, tiers
from loyalty_sdk.plugins.rewards import reward_value

CATALOG = [
    {"id": "5-off", "name": "$5 off", "kind": "fixed_amount", "points": 500, "value": "5.00"},
    {"id": "10-percent", "name": "10% off", "kind": "percent_off", "points": 1000, "value": "10"},
    {"id": "free-shipping", "name": "Free shipping", "kind": "free_shipping", "points": 300},
    {
        "id": "free-mug",
        "name": "A free mug",
        "kind": "free_product",
        "points": 1500,
        "product_id": "mug",
        "value": "12.00",
        "tiers": ["silver", "gold"],
        "limit_per_member": 1,
    },
    {
        "id": "points-as-money",
        "name": "Pay with points",
        "kind": "points_as_money",
        "min_points": 100,
        "max_points": 10000,
        "step": 100,
    },
]
CATALOG_IDS = {entry["id"] for entry in CATALOG}
LEVELS = [{"id": "bronze"}, {"id": "silver", "threshold": 500}, {"id": "gold", "threshold": 1500}]


def program(currency="USD", point_value="0.01"):
    return program_from_mapping(
        {
            "program": {"currency": currency, "point_value": point_value},
            "tiers": {"levels": LEVELS},
            "rewards": CATALOG,
        }
    )


PROGRAM = program()


def member(tier):
    return Member(
        id=1, shop_id="s", customer_id="c1", email=None, tier=tier, enrolled_at=datetime(2025, 1, 1, tzinfo=UTC)
    )


def catalog(tier, prog=PROGRAM):
    return {reward.id: reward for reward in rewards.loyalty_rewards(member=member(tier), program=prog)}


def validate(tier, reward_id, points, redeemed=0):
    rewards.loyalty_validate_redemption(
        member=member(tier),
        reward=catalog("gold")[reward_id],
        points=points,
        usage=RewardUsage(redeemed),
        program=PROGRAM,
    )


# -- the catalog ---------------------------------------------------------------------------------


def test_tier_limited_rewards_are_offered_only_to_those_tiers():
    assert sorted(catalog("bronze")) == ["10-percent", "5-off", "free-shipping", "points-as-money"]
    assert sorted(catalog(None)) == ["10-percent", "5-off", "free-shipping", "points-as-money"]
    assert "free-mug" in catalog("silver")
    assert "free-mug" in catalog("gold")


def test_catalog_entries_carry_the_program_terms():
    offered = catalog("silver", program(currency="EUR"))

    assert offered["5-off"] == Reward(
        id="5-off", name="$5 off", kind="fixed_amount", points=500, value=Decimal("5.00"), currency="EUR"
    )
    assert offered["free-mug"].tiers == frozenset({"silver", "gold"})
    assert offered["free-mug"].limit_per_member == 1
    assert offered["free-mug"].product_id == "mug"


def test_pay_with_points_is_listed_at_its_minimum_with_no_fixed_value():
    pay = catalog("bronze")["points-as-money"]

    assert (pay.points, pay.value, pay.currency) == (100, None, "USD")
    assert (pay.min_points, pay.max_points, pay.step) == (100, 10000, 100)


# -- vetoes --------------------------------------------------------------------------------------


def test_valid_redemptions_pass():
    validate("bronze", "5-off", 500)
    validate("silver", "free-mug", 1500)
    validate("bronze", "points-as-money", 100)
    validate("bronze", "points-as-money", 2500)
    validate("bronze", "points-as-money", 10000)


@pytest.mark.parametrize(
    ("tier", "reward_id", "points", "redeemed", "field", "says"),
    [
        ("bronze", "free-mug", 1500, 0, "tier", "only for gold, silver members; member has tier 'bronze'"),
        (None, "free-mug", 1500, 0, "tier", "member has no tier"),
        ("gold", "free-mug", 1500, 1, "limit_per_member", "can be redeemed once per member"),
        ("bronze", "points-as-money", 50, 0, "points", "needs at least 100 points, got 50"),
        ("bronze", "points-as-money", 10100, 0, "points", "takes at most 10000 points, got 10100"),
        ("bronze", "points-as-money", 250, 0, "points", "takes points in multiples of 100, got 250"),
        ("bronze", "5-off", 400, 0, "points", "costs 500 points, got 400"),
        ("bronze", "5-off", 600, 0, "points", "costs 500 points, got 600"),
    ],
)
def test_redemption_is_refused_naming_the_reward_and_the_reason(tier, reward_id, points, redeemed, field, says):
    with pytest.raises(RedemptionRefused) as refused:
        validate(tier, reward_id, points, redeemed)

    assert str(refused.value).startswith(f"reward {reward_id!r}: ")
    assert says in str(refused.value)
    assert refused.value.field == field
    assert refused.value.code == "redemption_refused"


# -- value ---------------------------------------------------------------------------------------


def test_reward_values():
    offered = catalog("gold")

    assert reward_value(offered["5-off"], 500, PROGRAM) == Money("5.00", "USD")
    assert reward_value(offered["free-mug"], 1500, PROGRAM) == Money("12.00", "USD")
    assert reward_value(offered["10-percent"], 1000, PROGRAM) is None  # depends on the order
    assert offered["10-percent"].value == Decimal("10")
    assert reward_value(offered["free-shipping"], 300, PROGRAM) is None


def test_pay_with_points_is_worth_points_times_point_value():
    pay = catalog("bronze")["points-as-money"]

    assert reward_value(pay, 2500, PROGRAM) == Money("25.00", "USD")
    assert str(reward_value(pay, 2500, PROGRAM)) == "25.00 USD"


def test_pay_with_points_rounds_to_the_currency():
    half_cent = program(point_value="0.005")
    yen = program(currency="JPY", point_value="1")

    # 333 × 0.005 = 1.665, rounded half to even to the cent.
    assert reward_value(catalog("bronze", half_cent)["points-as-money"], 333, half_cent) == Money("1.66", "USD")
    assert reward_value(catalog("bronze", yen)["points-as-money"], 300, yen) == Money("300", "JPY")


# -- codes ---------------------------------------------------------------------------------------


def test_issued_codes_are_random_and_easy_to_type():
    redemption = Redemption(
        id=1, member_id=1, reward=catalog("bronze")["5-off"], points=500, value=Money("5.00", "USD")
    )

    codes = {rewards.loyalty_issue_reward(redemption=redemption, member=member("bronze"), shop=None) for _ in range(50)}

    assert len(codes) == 50
    assert all(re.fullmatch(r"LOYAL-[A-HJ-NP-Z2-9]{10}", code) for code in codes)


# -- through the plugin host ---------------------------------------------------------------------


class StorePlugin:
    """What a merchant might add: a secret reward, a house rule, and their own coupons."""

    @hookimpl
    def loyalty_rewards(self, member, program):
        if member.tier == "gold":
            return [Reward("vip-gift", "VIP gift", "free_product", 2000, product_id="gift")]
        return None

    @hookimpl
    def loyalty_validate_redemption(self, member, reward, points, usage, program):
        if reward.kind == "points_as_money" and points > 5000:
            raise RedemptionRefused(f"reward {reward.id!r}: at most 5000 points per order here")

    @hookimpl
    def loyalty_issue_reward(self, redemption, member, shop):
        return f"STORE-{redemption.id}"


@pytest.mark.parametrize("order", ["after", "before"])
def test_store_plugins_extend_and_override_the_built_in_rules(order):
    mine = StorePlugin()
    plugins = [tiers, rewards, mine] if order == "after" else [mine, tiers, rewards]
    host = PluginHost(plugins, builtins=False, entry_points=False)
    gold, bronze = member("gold"), member("bronze")
    pay = catalog("bronze")["points-as-money"]
    redemption = Redemption(id=7, member_id=1, reward=pay, points=2500, value=Money("25.00", "USD"))

    assert {r.id for r in host.rewards(gold, PROGRAM)} == {*CATALOG_IDS, "vip-gift"}
    assert {r.id for r in host.rewards(bronze, PROGRAM)} == CATALOG_IDS - {"free-mug"}
    host.validate_redemption(bronze, pay, 5000, RewardUsage(), PROGRAM)
    with pytest.raises(RedemptionRefused, match="at most 5000 points per order here"):
        host.validate_redemption(bronze, pay, 6000, RewardUsage(), PROGRAM)
    with pytest.raises(RedemptionRefused, match="multiples of 100"):
        host.validate_redemption(bronze, pay, 2550, RewardUsage(), PROGRAM)
    assert host.issue_reward(redemption, bronze, shop=None) == "STORE-7"


def test_built_in_code_is_used_when_no_store_plugin_issues_one():
    host = PluginHost([tiers, rewards], builtins=False, entry_points=False)
    pay = catalog("bronze")["points-as-money"]
    redemption = Redemption(id=7, member_id=1, reward=pay, points=2500, value=Money("25.00", "USD"))

    assert host.issue_reward(redemption, member("bronze"), shop=None).startswith("LOYAL-")

