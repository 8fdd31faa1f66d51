"""Points on spend: what a member earns for the merchandise they actually paid for."""

from __future__ import annotations

from datetime import UTC, datetime

from loyalty_sdk.core.models import LineItem, Member, MemberRef, Money, Order
from loyalty_sdk.core.plugin_host import PluginHost
from loyalty_sdk.core.program import program_from_mapping
from loyalty_sdk.plugins import earning

MEMBER = Member(1, "shop", "c1", None, None, datetime(2026, 1, 1, tzinfo=UTC))
HOST = PluginHost([earning], builtins=False, entry_points=False)


def line(line_id: str, price: str, currency: str = "USD", quantity: int = 1, **fields: object) -> LineItem:
    return LineItem(line_id, quantity, Money(price, currency), **fields)


def order(*lines: LineItem, currency: str = "USD", **fields: object) -> Order:
    return Order("o1", MemberRef("c1"), datetime(2026, 3, 2, 15, tzinfo=UTC), currency, lines, **fields)


def awards(an_order: Order, **earn: object) -> dict[str, int]:
    """Points per line, as the member sees them on the order."""
    program = program_from_mapping({"earn": earn})
    return {a.line_id: a.points for a in HOST.order_awards(an_order, MEMBER, program)}


def test_one_point_per_dollar_floors_the_order_total() -> None:
    # 12.50 + 2 x 3.625 = 19.75 -> 19 points
    result = awards(order(line("a", "12.50"), line("b", "3.625", quantity=2)))
    assert sum(result.values()) == 19


def test_order_discount_is_shared_across_lines_in_proportion() -> None:
    # 60 + 40, 10 off the order: 6 and 4 of it -> 54 and 36
    assert awards(order(line("a", "60.00"), line("b", "40.00"), order_discount=Money("10.00", "USD"))) == {
        "a": 54,
        "b": 36,
    }


def test_line_discount_reduces_only_its_own_line() -> None:
    # 2 x 25 - 10 = 40; 30 untouched
    result = awards(order(line("a", "25.00", quantity=2, discount=Money("10.00", "USD")), line("b", "30.00")))
    assert result == {"a": 40, "b": 30}


def test_tax_included_prices_earn_on_the_price_without_tax() -> None:
    # 121.00 incl. 21.00 VAT -> 100 points
    vat_line = line("a", "121.00", "EUR", tax=Money("21.00", "EUR"))
    assert awards(order(vat_line, currency="EUR", taxes_included=True)) == {"a": 100}


def test_tax_on_a_line_is_ignored_when_prices_exclude_tax() -> None:
    # the tax is charged on top of 121.00, so the whole price earns
    taxed_line = line("a", "121.00", "EUR", tax=Money("21.00", "EUR"))
    assert awards(order(taxed_line, currency="EUR")) == {"a": 121}


def test_yen_earn_one_point_per_hundred_yen() -> None:
    # ¥1,999 x 0.01 = 19.99 -> 19 points
    assert awards(order(line("a", "1999", "JPY"), currency="JPY"), rates={"JPY": "0.01"}) == {"a": 19}


def test_yen_order_discount_is_shared_in_whole_yen() -> None:
    # ¥1,000 + ¥2,000, ¥100 off: 33 and 67 (largest remainder) -> ¥967 + ¥1,933 = ¥2,900 -> 29 points
    yen = order(line("a", "1000", "JPY"), line("b", "2000", "JPY"), currency="JPY", order_discount=Money("100", "JPY"))
    assert sum(awards(yen, rates={"JPY": "0.01"}).values()) == 29


def test_kuwaiti_dinar_keeps_three_decimals() -> None:
    # 1.250 + 2.375 = 3.625 KWD, 0.125 off: 0.043 and 0.082 -> 1.207 + 2.293 = 3.500 -> 35 points at 10/KWD;
    # 35 split 12.07 : 22.93 -> 12 and 23
    kwd = order(
        line("a", "1.250", "KWD"), line("b", "2.375", "KWD"), currency="KWD", order_discount=Money("0.125", "KWD")
    )
    assert awards(kwd, rates={"KWD": "10"}) == {"a": 12, "b": 23}


def test_gift_cards_earn_nothing_and_take_no_share_of_the_order_discount() -> None:
    # the whole 10 off goes to the 50.00 shirt -> 40 points; the 50.00 gift card earns nothing
    result = awards(
        order(line("card", "50.00", gift_card=True), line("shirt", "50.00"), order_discount=Money("10.00", "USD"))
    )
    assert result == {"shirt": 40}


def test_excluded_collections_skus_and_products_earn_nothing() -> None:
    result = awards(
        order(
            line("sample", "10.00", collections={"samples"}),
            line("sku", "10.00", sku="SKU-X"),
            line("product", "10.00", product_id="p9"),
            line("mug", "10.00", collections={"kitchen"}, sku="MUG-1", product_id="p1"),
        ),
        exclude_collections=["samples"],
        exclude_skus=["SKU-X"],
        exclude_product_ids=["p9"],
    )
    assert result == {"mug": 10}


def test_shipping_never_earns() -> None:
    assert awards(order(line("a", "20.00"), shipping=Money("15.00", "USD"))) == {"a": 20}


def test_orders_below_the_minimum_earn_nothing() -> None:
    assert awards(order(line("a", "24.99")), min_order="25") == {}


def test_an_order_at_the_minimum_earns() -> None:
    assert awards(order(line("a", "25.00")), min_order="25") == {"a": 25}


def test_minimum_counts_only_eligible_spend() -> None:
    # 30.00 paid, but 10.00 of it is a gift card: 20.00 eligible < 25
    assert awards(order(line("a", "20.00"), line("card", "10.00", gift_card=True)), min_order="25") == {}


def test_points_are_rounded_once_per_order_not_per_line() -> None:
    # 3 x 0.40 = 1.20 -> 1 point (rounding each line would give 0)
    result = awards(order(line("a", "0.40"), line("b", "0.40"), line("c", "0.40")))
    assert sum(result.values()) == 1


def test_line_awards_add_up_to_the_order_total() -> None:
    # 1.00 off takes 0.34, 0.33, 0.33 -> 9.66 + 9.67 + 9.67 = 29.00 -> 29 points;
    # 9.66 : 9.67 : 9.67 gives 9 each and the 2 left over to the larger remainders -> 9, 10, 10
    result = awards(
        order(line("a", "10.00"), line("b", "10.00"), line("c", "10.00"), order_discount=Money("1.00", "USD"))
    )
    assert result == {"a": 9, "b": 10, "c": 10}


def test_rounding_mode_comes_from_the_program() -> None:
    # 19.50 -> 20 with half_up, 19 with floor
    assert awards(order(line("a", "19.50")), rounding="half_up") == {"a": 20}
    assert awards(order(line("a", "19.50")), rounding="floor") == {"a": 19}


def test_a_fully_discounted_order_earns_nothing() -> None:
    assert awards(order(line("a", "10.00", discount=Money("10.00", "USD")))) == {}


def test_each_award_names_the_rule_and_the_line() -> None:
    program = program_from_mapping({})
    [award] = HOST.order_awards(order(line("a", "19.00", title="Blue mug")), MEMBER, program)
    assert (award.points, award.rule_id, award.line_id) == (19, "earn.spend", "a")
    assert award.reason == "19 points on Blue mug"
