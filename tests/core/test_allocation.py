"""Exact splitting and rounding: the arithmetic every points figure goes through."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from loyalty_sdk.core.allocation import round_ratio, split_int

DECIMAL_MODES = {"floor": ROUND_FLOOR, "ceil": ROUND_CEILING, "half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}


@given(st.integers(-10**12, 10**12), st.integers(1, 10**6), st.sampled_from(sorted(DECIMAL_MODES)))
def test_round_ratio_agrees_with_decimal_rounding(numerator, denominator, mode):
    exact = Decimal(numerator) / Decimal(denominator)  # exact enough: 28 digits hold every case drawn
    assert round_ratio(numerator, denominator, mode) == int(exact.to_integral_value(rounding=DECIMAL_MODES[mode]))


def test_round_ratio_on_ties():
    assert [round_ratio(n, 2, "half_even") for n in (1, 3, 5, -1, -3)] == [0, 2, 2, 0, -2]
    assert [round_ratio(n, 2, "half_up") for n in (1, 3, -1, -3)] == [1, 2, -1, -2]
    assert [round_ratio(n, 2, "floor") for n in (1, -1)] == [0, -1]
    assert [round_ratio(n, 2, "ceil") for n in (1, -1)] == [1, 0]


@given(st.integers(-10**6, 10**6), st.lists(st.integers(0, 10**6), min_size=1, max_size=12))
def test_split_int_parts_add_up_and_follow_weights(total, weights):
    parts = split_int(total, weights)
    assert sum(parts) == total
    weight_sum = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        if weight_sum:
            # Each part is its exact share rounded down or up by less than one unit.
            assert abs(part * weight_sum - total * weight) < weight_sum
        assert part == 0 or weight > 0 or weight_sum == 0


def test_split_int_gives_leftover_units_to_largest_remainders_earliest_first():
    assert split_int(10, [1, 1, 1]) == [4, 3, 3]
    assert split_int(2, [1, 1, 1]) == [1, 1, 0]
    assert split_int(7, [5, 2, 3]) == [4, 1, 2]  # 3.5, 1.4, 2.1: the 0.5 remainder wins the unit
    assert split_int(-10, [1, 1, 1]) == [-4, -3, -3]
