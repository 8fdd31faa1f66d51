"""Bad input: every rejection is a typed error from ``loyalty_sdk.core.errors`` whose message
names the field and the value, and nothing is posted (the doctor is happy and the books read
exactly as before)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from loyalty_sdk import hookimpl
from loyalty_sdk.core import errors
from loyalty_sdk.core.models import Activity, Award, LineItem, MemberRef, Order
from loyalty_sdk.core.money import Money
from loyalty_sdk.facade import Loyalty

from . import T0, assert_books_ok, base_program, line, order, refund, snapshot

DAY = timedelta(days=1)
NAIVE = datetime(2026, 3, 2, 15, 0)


@pytest.fixture
def program():
    return base_program(earn={"pending_days": 0})


@pytest.fixture
def shop_with_points(books):
    books.enroll("c1", email="ada@example.com")
    books.record_order(order("o1", [("a", "10.00", 3)]))  # 30 points
    books.record_order(order("o2", [("a", "150.00", 1)]))  # 150 points
    books.redeem("c1", "coffee", idempotency_key="k1")  # 180 - 100 = 80
    return books


CASES = {
    # name: (call, error type, field, text the message must contain)
    "negative quantity": (
        lambda s: s.record_order(order("o9", [("a", "10.00", -2)])),
        errors.InvalidInput, "quantity", "-2",
    ),
    "unknown currency": (
        lambda s: s.record_order(order("o9", [("a", "10.00", 1)], currency="ZZZ")),
        errors.CurrencyError, "currency", "ZZZ",
    ),
    "mixed currencies in an order": (
        lambda s: s.record_order(Order("o9", MemberRef("c1"), T0, "USD",
                                       [line("a", "10.00"), line("b", "3.00", currency="EUR")])),
        errors.CurrencyError, "lines[b].unit_price", "EUR",
    ),
    "money as a float": (
        lambda s: s.record_order(Order("o9", MemberRef("c1"), T0, "USD",
                                       [LineItem("a", 1, Money(12.5, "USD"))])),
        errors.InvalidInput, "amount", "12.5",
    ),
    "naive order time": (
        lambda s: s.record_order(order("o9", at=NAIVE)),
        errors.InvalidInput, "placed_at", "2026",
    ),
    "naive job time": (
        lambda s: s.run_jobs(NAIVE),
        errors.InvalidInput, "as_of", "2026",
    ),
    "an order for a customer who is not a member": (
        lambda s: s.record_order(order("o9", customer="stranger")),
        errors.MemberNotFound, "member", "stranger",
    ),
    "an activity for a customer who is not a member": (
        lambda s: s.record_activity(Activity("review", MemberRef("stranger"), T0)),
        errors.MemberNotFound, "member", "stranger",
    ),
    "a redemption above the balance": (
        lambda s: s.redeem("c1", "5-off"),
        errors.InsufficientPoints, "points", "500",
    ),
    "a reused redemption key with a different payload": (
        lambda s: s.redeem("c1", "ship-once", idempotency_key="k1"),
        errors.IdempotencyConflict, "idempotency_key", "k1",
    ),
    "a reused order id with a different amount": (
        lambda s: s.record_order(order("o1", [("a", "10.00", 4)])),
        errors.IdempotencyConflict, "idempotency_key", "o1",
    ),
    "a refund of an order never recorded": (
        lambda s: s.record_refund(refund("r9", "o404", T0, {"a": 1})),
        errors.OrderNotFound, "order_id", "o404",
    ),
    "a refund naming a line the order lacks": (
        lambda s: s.record_refund(refund("r9", "o1", T0, {"zz": 1})),
        errors.InvalidInput, "line_id", "zz",
    ),
    "an adjustment without a reason": (
        lambda s: s.adjust("c1", 10, " "),
        errors.InvalidInput, "reason", "reason",
    ),
    "an adjustment that overdraws": (
        lambda s: s.adjust("c1", -81, "fix"),
        errors.InsufficientPoints, "points", "81",
    ),
    "points as a float": (
        lambda s: s.redeem("c1", "pay", points=100.0),
        errors.InvalidInput, "points", "100.0",
    ),
    "an unknown reward": (
        lambda s: s.redeem("c1", "moon"),
        errors.RewardNotFound, "reward_id", "moon",
    ),
    "enrolling a member twice": (
        lambda s: s.enroll("c1"),
        errors.MemberExists, "member", "c1",
    ),
    "an order that is not an Order": (
        lambda s: s.record_order({"order_id": "o9"}),
        errors.InvalidInput, "order", "dict",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_refused_by_name_and_posts_nothing(shop_with_points, case):
    call, error_type, field, text = CASES[case]
    before = snapshot(shop_with_points, "c1")
    with pytest.raises(error_type) as caught:
        call(shop_with_points)
    error = caught.value
    assert isinstance(error, errors.LoyaltyError)
    assert error.field == field
    assert text in str(error)
    assert 400 <= error.status < 500 and error.code
    assert snapshot(shop_with_points, "c1") == before
    assert_books_ok(shop_with_points)


BAD_PROGRAMS = {
    "a misspelt key": ("[earn]\npoints_per_dollar = 2\n", "earn.points_per_dollar", "points_per_dollar"),
    "a bad value": ("[earn]\npending_days = 'soon'\n", "earn.pending_days", "soon"),
    "an unknown currency": ("[program]\ncurrency = 'ABC'\n", "program.currency", "ABC"),
}


@pytest.mark.parametrize("case", list(BAD_PROGRAMS))
def test_an_invalid_program_file_is_refused_by_field_path_and_value(shop_with_points, database_url, clock, tmp_path,
                                                                    case):
    toml, path, value = BAD_PROGRAMS[case]
    program_file = tmp_path / "loyalty.toml"
    program_file.write_text(toml, encoding="utf-8")
    before = snapshot(shop_with_points, "c1")
    with pytest.raises(errors.ProgramError) as caught:
        Loyalty(database_url, program_file, clock=clock, entry_points=False)
    assert caught.value.field == path
    assert path in str(caught.value) and value in str(caught.value)
    assert str(program_file) in str(caught.value)
    assert snapshot(shop_with_points, "c1") == before


class FloatBonus:
    """A broken rule: its award is a float number of points."""

    @hookimpl
    def loyalty_order_awards(self, order, member, program):
        return [Award(2.5, "bonus", "broken.bonus")]


def test_a_plugin_award_that_is_not_whole_points_is_refused(loyalty_at):
    shop = loyalty_at(program=base_program(earn={"pending_days": 0}), plugins=[FloatBonus()])
    shop.enroll("c1")
    before = snapshot(shop, "c1")
    with pytest.raises(errors.PluginError) as caught:
        shop.record_order(order("o1"))
    assert "2.5" in str(caught.value) and "loyalty_order_awards" in str(caught.value)
    assert snapshot(shop, "c1") == before


def test_errors_carry_stable_codes():
    codes = {cls.code for cls in (errors.InvalidInput, errors.CurrencyError, errors.ProgramError,
                                  errors.MemberNotFound, errors.InsufficientPoints, errors.IdempotencyConflict,
                                  errors.OrderNotFound, errors.RewardNotFound, errors.RedemptionRefused,
                                  errors.MemberExists)}
    assert len(codes) == 10
    assert issubclass(errors.CurrencyError, errors.InvalidInput)
    assert issubclass(errors.InvalidInput, ValueError)


def test_a_rejected_batch_posts_none_of_its_orders(shop_with_points):
    before = snapshot(shop_with_points, "c1")
    with pytest.raises(errors.MemberNotFound):
        shop_with_points.record_orders([order("o7", [("a", "5.00", 1)]), order("o8", customer="ghost")])
    assert snapshot(shop_with_points, "c1") == before


def test_a_conflict_inside_a_batch_posts_none_of_its_orders(shop_with_points):
    before = snapshot(shop_with_points, "c1")
    with pytest.raises(errors.IdempotencyConflict):
        shop_with_points.record_orders([order("o7", [("a", "5.00", 1)]), order("o1", [("a", "1.00", 1)])])
    assert snapshot(shop_with_points, "c1") == before
    assert_books_ok(shop_with_points)


def test_decimal_prices_with_more_digits_than_the_currency_are_accepted_exactly(shop_with_points):
    # 3 x $3.333 = $9.999 -> 9 points; no float ever rounds it up to 10.
    result = shop_with_points.record_order(order("o9", [LineItem("a", 3, Money(Decimal("3.333"), "USD"))]))
    assert result.points == 9
