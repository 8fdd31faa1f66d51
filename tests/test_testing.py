"""The pytest kit for rule writers, tested as they would use it: in a pytest run of its own."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

RULE = """
    import pytest
    from loyalty_sdk import hookimpl
    from loyalty_sdk.core.models import Award
    from loyalty_sdk.testing import assert_awards, assert_ledger


    class Mugs:
        @hookimpl
        def loyalty_order_awards(order, member, program):
            mugs = sum(line.quantity for line in order.lines if line.product_id == "mug")
            return [Award(5 * mugs, "mug bonus", "mugs")] if mugs else None
"""


def run(pytester: pytest.Pytester, tests: str) -> pytest.RunResult:
    pytester.makepyfile(test_rule=RULE + tests)
    return pytester.runpytest("-p", "no:cacheprovider")


def test_the_builders_and_assertions_pass_for_a_working_rule(pytester: pytest.Pytester) -> None:
    result = run(pytester, """
    def test_mugs(loyalty, register_plugin, make_member, make_order, make_refund, make_activity):
        register_plugin(Mugs)
        member = make_member("c1", email="ada@example.com")
        order = make_order("1001", lines=[("mug", "12.00", 2), ("tea", "6.00", 1)])
        assert_awards(loyalty.record_order(order), {"earn.spend": 30, "mugs": 10})
        assert_ledger(loyalty, member, available=0, pending=40, lifetime_points=40)
        loyalty.record_refund(make_refund(order, lines=[("mug", 1)]))
        assert_ledger(loyalty, "ada@example.com", pending=24)
        loyalty.record_activity(make_activity("review", payload={"photos": 1}))
        assert_ledger(loyalty, "c1", available=50, pending=24)

    def test_the_plugin_is_gone_in_the_next_test(loyalty, make_member, make_order):
        make_member("c1")
        assert_awards(loyalty.record_order(make_order("1001", lines=[("mug", "12.00", 2)])), {"earn.spend": 24})
    """)
    result.assert_outcomes(passed=2)


def test_assert_awards_prints_each_rule_expected_beside_actual(pytester: pytest.Pytester) -> None:
    result = run(pytester, """
    def test_mugs(loyalty, register_plugin, make_member, make_order):
        register_plugin(Mugs)
        make_member("c1")
        result = loyalty.record_order(make_order("1001", lines=[("mug", "12.00", 1)]))
        assert_awards(result, {"earn.spend": 12, "mugs": 10, "weekend": 12})
    """)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "E *AssertionError: awards differ from the expected points per rule:",
        "E *rule        expected    actual",
    ])
    result.stdout.re_match_lines([r"E\s+earn\.spend\s+12\s+12$"])  # a row that agrees is not marked
    result.stdout.fnmatch_lines([
        "E *! mugs              10         5",
        "E *! weekend           12         -",
        "E *! total             34        17",
    ])
    assert "loyalty_sdk/assertions.py" not in result.stdout.str()  # the user's line, not ours


def test_assert_awards_names_a_rule_nobody_expected(pytester: pytest.Pytester) -> None:
    result = run(pytester, """
    def test_mugs(loyalty, register_plugin, make_member, make_order):
        register_plugin(Mugs)
        make_member("c1")
        assert_awards(loyalty.record_order(make_order("1001", lines=[("mug", "12.00", 1)])), {"earn.spend": 12})
    """)
    result.assert_outcomes(failed=1)
    result.stdout.re_match_lines([r"E\s+! mugs\s+-\s+5$", r"E\s+! total\s+12\s+17$"])


def test_assert_ledger_prints_the_figures_that_differ(pytester: pytest.Pytester) -> None:
    result = run(pytester, """
    def test_balance(loyalty, make_member, make_order):
        make_member("c1")
        loyalty.record_order(make_order("1001", lines=[("tea", "20.00", 1)]))
        assert_ledger(loyalty, "c1", available=20, pending=20, tier="silver")
    """)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "E *AssertionError: ledger of member c1 differs:",
        "E *figure     expected    actual",
        "E *! available        20         0",
    ])
    result.stdout.re_match_lines([r"E\s+pending\s+20\s+20$"])
    result.stdout.fnmatch_lines([
        "E *! tier       'silver'  'bronze'",
    ])


def test_expected_points_must_be_ints(pytester: pytest.Pytester) -> None:
    result = run(pytester, """
    from loyalty_sdk.core.errors import InvalidInput

    def test_floats(loyalty, make_member):
        make_member("c1")
        with pytest.raises(InvalidInput, match="'earn.spend' must be an int, got 12.5"):
            assert_awards([], {"earn.spend": 12.5})
        with pytest.raises(InvalidInput, match="'available' must be an int, got '20'"):
            assert_ledger(loyalty, "c1", available="20")
        with pytest.raises(InvalidInput, match="at least one of available"):
            assert_ledger(loyalty, "c1")
    """)
    result.assert_outcomes(passed=1)


def test_a_refund_of_an_order_id_needs_lines_or_an_amount(pytester: pytest.Pytester) -> None:
    result = run(pytester, """
    from loyalty_sdk.core.errors import InvalidInput

    def test_refunds(make_refund, make_order):
        with pytest.raises(InvalidInput, match="refund of order '1001': pass the Order, lines or an amount"):
            make_refund("1001")
        assert make_refund("1001", amount="5.00").amount.amount == 5
        assert [line.quantity for line in make_refund(make_order("1002", lines=[("mug", "1", 3)])).lines] == [3]
    """)
    result.assert_outcomes(passed=1)
