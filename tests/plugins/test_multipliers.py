"""Campaign and tier multipliers: the bonus points a member sees on top of base points."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from loyalty_sdk.core.hookspecs import hookimpl
from loyalty_sdk.core.models import Award, LineItem, Member, MemberRef, Money, Order
from loyalty_sdk.core.plugin_host import PluginHost
from loyalty_sdk.core.program import Program, program_from_mapping
from loyalty_sdk.plugins import earning, multipliers

NEW_YORK = ZoneInfo("America/New_York")
HOST = PluginHost([earning, multipliers], builtins=False, entry_points=False)
TIERS = {
    "levels": [
        {"id": "bronze", "threshold": 0},
        {"id": "silver", "threshold": 500, "multiplier": "1.25", "name": "Silver"},
        {"id": "gold", "threshold": 1500, "multiplier": "1.5", "name": "Gold"},
    ]
}
BLACK_FRIDAY = {
    "id": "black-friday",
    "name": "Black Friday double points",
    "multiplier": "2",
    "starts": date(2026, 11, 27),
    "ends": date(2026, 11, 30),
}
DOUBLE = {"id": "double", "name": "Double points", "multiplier": "2"}
MID_NOVEMBER = datetime(2026, 11, 15, 12, tzinfo=NEW_YORK)


def program(*campaigns: dict[str, object], **stacking: object) -> Program:
    return program_from_mapping(
        {
            "program": {"timezone": "America/New_York"},
            "stacking": stacking,
            "campaigns": list(campaigns),
            "tiers": TIERS,
        }
    )


def member(tier: str | None = "bronze") -> Member:
    return Member(1, "shop", "c1", None, tier, datetime(2026, 1, 1, tzinfo=UTC))


def line(line_id: str, price: str, **fields: object) -> LineItem:
    return LineItem(line_id, 1, Money(price, "USD"), **fields)


def order(*lines: LineItem, at: datetime = MID_NOVEMBER) -> Order:
    return Order("o1", MemberRef("c1"), at, "USD", lines or (line("a", "100.00"),))


def bonuses(an_order: Order, a_member: Member, a_program: Program, host: PluginHost = HOST) -> list[tuple[str, str | None, int]]:
    """(rule_id, line_id, points) of every award beyond base points, in the order they come."""
    return [
        (a.rule_id, a.line_id, a.points)
        for a in host.order_awards(an_order, a_member, a_program)
        if a.rule_id != "earn.spend"
    ]


# -- campaign windows, on the shop's clock -------------------------------------------------------


def test_order_late_on_the_last_local_day_of_a_campaign_counts() -> None:
    # 04:30 UTC on Dec 1 is 23:30 on Nov 30 in New York: still Black Friday weekend
    at = datetime(2026, 12, 1, 4, 30, tzinfo=UTC)
    assert bonuses(order(at=at), member(), program(BLACK_FRIDAY)) == [("campaign.black-friday", "a", 100)]


def test_order_just_after_local_midnight_after_a_campaign_gets_no_bonus() -> None:
    # 05:30 UTC on Dec 1 is 00:30 on Dec 1 in New York: the campaign is over
    at = datetime(2026, 12, 1, 5, 30, tzinfo=UTC)
    assert bonuses(order(at=at), member(), program(BLACK_FRIDAY)) == []


def test_order_before_local_midnight_of_the_first_day_gets_no_bonus() -> None:
    # 04:30 UTC on Nov 27 is still 23:30 on Nov 26 in New York
    at = datetime(2026, 11, 27, 4, 30, tzinfo=UTC)
    assert bonuses(order(at=at), member(), program(BLACK_FRIDAY)) == []


def test_order_just_after_local_midnight_of_the_first_day_counts() -> None:
    at = datetime(2026, 11, 27, 0, 30, tzinfo=NEW_YORK)
    assert bonuses(order(at=at), member(), program(BLACK_FRIDAY)) == [("campaign.black-friday", "a", 100)]


def test_a_campaign_ending_at_a_time_stops_just_before_it() -> None:
    flash = {"id": "flash", "multiplier": "2", "starts": datetime(2026, 11, 30, 9), "ends": datetime(2026, 11, 30, 18)}
    before = order(at=datetime(2026, 11, 30, 17, 59, tzinfo=NEW_YORK))
    at_end = order(at=datetime(2026, 11, 30, 18, 0, tzinfo=NEW_YORK))
    assert bonuses(before, member(), program(flash)) == [("campaign.flash", "a", 100)]
    assert bonuses(at_end, member(), program(flash)) == []


# -- which lines and members a campaign covers ---------------------------------------------------


def test_a_collection_campaign_boosts_only_its_lines() -> None:
    coffee = {"id": "coffee", "multiplier": "3", "collections": ["coffee"]}
    result = bonuses(order(line("beans", "20.00", collections={"coffee"}), line("mug", "10.00")), member(), program(coffee))
    assert result == [("campaign.coffee", "beans", 40)]  # 20 x (3 - 1)


def test_sku_and_product_filters_also_pick_lines() -> None:
    picked = {"id": "picked", "multiplier": "2", "skus": ["S-1"], "product_ids": ["p2"]}
    an_order = order(line("a", "10.00", sku="S-1"), line("b", "20.00", product_id="p2"), line("c", "30.00"))
    assert bonuses(an_order, member(), program(picked)) == [("campaign.picked", "a", 10), ("campaign.picked", "b", 20)]


def test_a_tier_restricted_campaign_boosts_only_members_of_that_tier() -> None:
    vip = {**DOUBLE, "tiers": ["gold"]}
    assert bonuses(order(), member("gold"), program(vip)) == [("campaign.double", "a", 100)]
    assert bonuses(order(), member("silver"), program(vip)) == [("tier.silver", "a", 25)]


def test_the_tier_multiplier_alone_gives_a_bonus() -> None:
    [award] = HOST.order_awards(order(), member("gold"), program())[1:]
    assert (award.rule_id, award.points, award.reason) == ("tier.gold", 50, "1.5x Gold tier")


def test_a_tier_multiplying_by_one_adds_nothing() -> None:
    assert bonuses(order(), member("bronze"), program()) == []


# -- stacking ------------------------------------------------------------------------------------


def test_highest_mode_keeps_only_the_largest_multiplier() -> None:
    # 2x campaign beats 1.5x gold: 100 x (2 - 1)
    assert bonuses(order(), member("gold"), program(DOUBLE, mode="highest")) == [("campaign.double", "a", 100)]


def test_multiply_mode_multiplies_and_the_tier_boosts_the_campaign_bonus_too() -> None:
    # 2 x 1.5 = 3x -> 200 bonus: 100 from the campaign, 1.5x on the 200 it made -> 100 from the tier
    result = bonuses(order(), member("gold"), program(DOUBLE, mode="multiply"))
    assert result == [("campaign.double", "a", 100), ("tier.gold", "a", 100)]


def test_add_mode_adds_the_bonuses() -> None:
    # 1 + (2 - 1) + (1.5 - 1) = 2.5x -> 100 + 50
    result = bonuses(order(), member("gold"), program(DOUBLE, mode="add"))
    assert result == [("campaign.double", "a", 100), ("tier.gold", "a", 50)]


def test_max_multiplier_caps_the_combined_multiplier() -> None:
    # 3x capped at 2.5x -> 150 bonus, shared 100 : 100 -> 75 and 75
    awards = HOST.order_awards(order(), member("gold"), program(DOUBLE, mode="multiply", max_multiplier="2.5"))
    assert sum(a.points for a in awards) == 250
    assert [(a.rule_id, a.points, a.reason) for a in awards[1:]] == [
        ("campaign.double", 75, "2x Double points (capped at 2.5x)"),
        ("tier.gold", 75, "1.5x Gold tier (capped at 2.5x)"),
    ]


def test_without_include_tier_the_tier_does_not_stack_with_a_stronger_campaign() -> None:
    assert bonuses(order(), member("gold"), program(DOUBLE, mode="add", include_tier=False)) == [
        ("campaign.double", "a", 100)
    ]


def test_without_include_tier_a_weaker_campaign_does_not_cost_the_member_their_tier_bonus() -> None:
    small = {"id": "small", "multiplier": "1.2"}
    assert bonuses(order(), member("gold"), program(small, mode="add", include_tier=False)) == [("tier.gold", "a", 50)]


# -- rounding, limits and what multipliers apply to ----------------------------------------------


def test_a_bonus_is_rounded_once_per_order() -> None:
    # silver 1.25x on 3 lines of 10 points: 3 x 2.5 = 7.5 -> 7 (6 if each line were rounded), shared 3, 2, 2
    an_order = order(line("a", "10.00"), line("b", "10.00"), line("c", "10.00"))
    assert bonuses(an_order, member("silver"), program()) == [
        ("tier.silver", "a", 3),
        ("tier.silver", "b", 2),
        ("tier.silver", "c", 2),
    ]


def test_campaign_max_bonus_points_limits_its_bonus_per_order() -> None:
    # 3x on 30 + 20 coffee points = 60 + 40 = 100 bonus, limited to 50 -> 30 and 20; tea earns no bonus
    coffee = {"id": "coffee", "name": "Triple coffee", "multiplier": "3", "collections": ["coffee"], "max_bonus_points": 50}
    an_order = order(
        line("beans", "30.00", collections={"coffee"}),
        line("pods", "20.00", collections={"coffee"}),
        line("tea", "10.00"),
    )
    awards = HOST.order_awards(an_order, member(), program(coffee))
    assert [(a.line_id, a.points) for a in awards if a.rule_id == "campaign.coffee"] == [("beans", 30), ("pods", 20)]
    assert awards[-1].reason == "3x Triple coffee (limited to 50 bonus points per order)"


def test_a_campaign_under_its_limit_is_not_trimmed() -> None:
    coffee = {"id": "coffee", "multiplier": "3", "collections": ["coffee"], "max_bonus_points": 500}
    assert bonuses(order(line("beans", "30.00", collections={"coffee"})), member(), program(coffee)) == [
        ("campaign.coffee", "beans", 60)
    ]


class WelcomeBonus:
    """A user plugin: 10 points on every order, not tied to a line."""

    @hookimpl
    def loyalty_order_awards(self, order: Order, member: Member, program: Program) -> list[Award]:
        return [Award(10, "welcome", "welcome")]


def test_awards_without_a_line_are_not_multiplied() -> None:
    host = PluginHost([earning, multipliers, WelcomeBonus()], builtins=False, entry_points=False)
    # 20 line points + 10 welcome; gold 1.5x only on the 20
    assert bonuses(order(line("a", "20.00")), member("gold"), program(), host) == [
        ("welcome", None, 10),
        ("tier.gold", "a", 10),
    ]
