"""Money is an exact Decimal in one ISO 4217 currency, with that currency's minor units."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty_sdk.core.errors import CurrencyError, InvalidInput
from loyalty_sdk.core.money import MINOR_UNITS, Money, currency_exponent, to_decimal


def test_amounts_are_exact_decimals():
    # 0.1 + 0.2 is 0.3 exactly in Decimal, unlike in binary floating point.
    assert Money("0.10", "USD") + Money("0.20", "USD") == Money("0.30", "USD")
    assert Money("12.50", "USD").amount == Decimal("12.50")
    assert Money(12, "USD").amount == Decimal(12)


@pytest.mark.parametrize("value", [12.5, 0.1, float("nan")])
def test_floats_are_refused_and_the_message_names_the_value(value):
    with pytest.raises(InvalidInput) as caught:
        Money(value, "USD")
    assert caught.value.field == "amount"
    assert "float" in str(caught.value)
    assert repr(value) in str(caught.value)


@pytest.mark.parametrize("value", ["abc", "", "1,50", True, None, [1]])
def test_non_numbers_are_refused(value):
    with pytest.raises(InvalidInput) as caught:
        Money(value, "USD")
    assert caught.value.field == "amount"


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", Decimal("NaN")])
def test_non_finite_amounts_are_refused(value):
    with pytest.raises(InvalidInput, match="finite"):
        Money(value, "USD")


@pytest.mark.parametrize("code", ["XYZ", "US", "", "dollars", None, 840])
def test_unknown_currencies_are_refused_by_name(code):
    with pytest.raises(CurrencyError) as caught:
        Money("1", code)
    assert caught.value.field == "currency"
    # The code is named as it was checked (upper-cased when it is text).
    assert str(code).upper() in str(caught.value).upper()


def test_currency_codes_are_normalized_to_upper_case():
    assert Money("1.00", "usd").currency == "USD"


@pytest.mark.parametrize(
    ("currency", "exponent", "amount", "minor"),
    [
        ("USD", 2, "12.34", 1234),
        ("JPY", 0, "1500", 1500),  # yen have no minor unit
        ("KRW", 0, "12000", 12000),
        ("KWD", 3, "1.234", 1234),  # dinars have three decimals
        ("BHD", 3, "0.005", 5),
        ("CLF", 4, "1.2345", 12345),
    ],
)
def test_minor_units_follow_iso_4217(currency, exponent, amount, minor):
    assert currency_exponent(currency) == exponent
    money = Money(amount, currency)
    assert money.to_minor() == minor
    assert Money.from_minor(minor, currency) == Money(Decimal(amount), currency)


def test_quantizing_rounds_half_to_even_like_accounting():
    # 0.125 -> 0.12 (2 is even), 0.135 -> 0.14 (4 is even), 0.5 yen -> 0, 1.5 yen -> 2.
    assert Money("0.125", "USD").quantized().amount == Decimal("0.12")
    assert Money("0.135", "USD").quantized().amount == Decimal("0.14")
    assert Money("0.5", "JPY").to_minor() == 0
    assert Money("1.5", "JPY").to_minor() == 2
    assert str(Money("3", "USD")) == "3.00 USD"


def test_mixed_currencies_do_not_combine():
    with pytest.raises(CurrencyError) as caught:
        Money("1.00", "USD") + Money("1.00", "EUR")
    assert caught.value.value == "EUR"
    assert "USD" in str(caught.value) and "EUR" in str(caught.value)
    with pytest.raises(CurrencyError):
        Money("1.00", "USD") - Money("1.00", "GBP")


def test_money_cannot_be_multiplied_by_a_float():
    assert Money("2.50", "USD") * 3 == Money("7.50", "USD")
    assert Money("2.50", "USD") * Decimal("0.5") == Money("1.25", "USD")
    with pytest.raises(InvalidInput):
        Money("2.50", "USD") * 1.5


def test_from_minor_needs_an_integer():
    with pytest.raises(InvalidInput):
        Money.from_minor(12.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        Money.from_minor(True, "USD")


def test_to_decimal_names_the_field():
    with pytest.raises(InvalidInput) as caught:
        to_decimal(1.5, field="point_value")
    assert caught.value.field == "point_value"
    assert "point_value" in str(caught.value)


@given(
    st.sampled_from(sorted(MINOR_UNITS)),
    st.integers(min_value=-(10**15), max_value=10**15),
)
def test_minor_units_round_trip_for_every_currency(currency, minor):
    assert Money.from_minor(minor, currency).to_minor() == minor
