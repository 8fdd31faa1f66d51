"""The per-order points cap: an order never earns more than ``earn.max_points_per_order``."""

from __future__ import annotations

from collections.abc import Generator
from datetime import UTC, datetime
from typing import Any

from loyalty_sdk.core.hookspecs import hookimpl
from loyalty_sdk.core.models import Award, LineItem, Member, MemberRef, Money, Order
from loyalty_sdk.core.plugin_host import PluginHost
from loyalty_sdk.core.program import Program, program_from_mapping
from loyalty_sdk.plugins import caps, earning, multipliers

GOLD = Member(1, "shop", "c1", None, "gold", datetime(2026, 1, 1, tzinfo=UTC))
HOST = PluginHost([earning, multipliers, caps], builtins=False, entry_points=False)


def program(cap: int | None) -> Program:
    return program_from_mapping(
        {"earn": {"max_points_per_order": cap}, "tiers": {"levels": [{"id": "gold", "multiplier": "1.5"}]}}
    )


def order(*prices: str) -> Order:
    lines = [LineItem(f"l{i}", 1, Money(price, "USD")) for i, price in enumerate(prices, 1)]
    return Order("o1", MemberRef("c1"), datetime(2026, 3, 2, 15, tzinfo=UTC), "USD", lines)


def test_bonuses_that_push_an_order_over_the_cap_are_taken_back() -> None:
    # 80 base + 40 gold bonus = 120, cap 100 -> 20 taken back
    awards = HOST.order_awards(order("80.00"), GOLD, program(100))
    assert sum(a.points for a in awards) == 100
    assert [(a.rule_id, a.points, a.reason) for a in awards if a.points < 0] == [
        ("cap.order", -20, "capped at 100 points per order")
    ]


def test_base_points_alone_over_the_cap_are_capped_too() -> None:
    # 250 base + 125 bonus = 375 -> 100
    assert sum(a.points for a in HOST.order_awards(order("250.00"), GOLD, program(100))) == 100


def test_the_cut_is_shared_across_lines_so_refunds_stay_fair() -> None:
    # lines earn 60 + 30 and 40 + 20 = 90 and 60; cap 100 takes back 50 in proportion -> 30 and 20
    awards = HOST.order_awards(order("60.00", "40.00"), GOLD, program(100))
    per_line = {line_id: sum(a.points for a in awards if a.line_id == line_id) for line_id in ("l1", "l2")}
    assert [(a.line_id, a.points) for a in awards if a.rule_id == "cap.order"] == [("l1", -30), ("l2", -20)]
    assert per_line == {"l1": 60, "l2": 40}


def test_an_order_under_the_cap_is_untouched() -> None:
    # 50 + 25 = 75 <= 100
    awards = HOST.order_awards(order("50.00"), GOLD, program(100))
    assert sum(a.points for a in awards) == 75
    assert not [a for a in awards if a.rule_id == "cap.order"]


def test_an_order_exactly_at_the_cap_is_untouched() -> None:
    # 67 base + 33.5 gold bonus, floored to 33 = 100
    awards = HOST.order_awards(order("67.00"), GOLD, program(100))
    assert sum(a.points for a in awards) == 100
    assert not [a for a in awards if a.rule_id == "cap.order"]


def test_without_a_cap_nothing_is_taken_back() -> None:
    assert sum(a.points for a in HOST.order_awards(order("1000.00"), GOLD, program(None))) == 1500


class BigSpenderBonus:
    """A user plugin adding 500 points to every order, not tied to a line."""

    @hookimpl
    def loyalty_adjust_awards(self, awards: Any, order: Order, member: Member, program: Program) -> list[Award]:
        return [Award(500, "big spender", "big-spender")]


class WeekendWrapper:
    """A user wrapper that adds 200 points to whatever the other bonuses are."""

    @hookimpl(wrapper=True)
    def loyalty_adjust_awards(
        self, awards: Any, order: Order, member: Member, program: Program
    ) -> Generator[None, list[Any], list[Any]]:
        result = yield
        return [*result, [Award(200, "weekend", "weekend")]]


def test_the_cap_counts_bonuses_from_other_plugins_and_wrappers() -> None:
    host = PluginHost(
        [earning, multipliers, caps, BigSpenderBonus(), WeekendWrapper()], builtins=False, entry_points=False
    )
    # 10 base + 5 gold + 500 + 200 = 715 -> 100
    awards = host.order_awards(order("10.00"), GOLD, program(100))
    assert {"big-spender", "weekend", "cap.order"} <= {a.rule_id for a in awards}
    assert sum(a.points for a in awards) == 100


def test_the_built_in_plugins_earn_boost_and_cap_together() -> None:
    # 120 base + 60 gold bonus = 180 -> capped at 150
    awards = PluginHost(entry_points=False).order_awards(order("120.00"), GOLD, program(150))
    assert [(a.rule_id, a.points) for a in awards] == [("earn.spend", 120), ("tier.gold", 60), ("cap.order", -30)]
