"""Assertions for rule writers' tests: the awards an order earned and a member's ledger, compared
with what the test expected, failing with a table of every figure and the ones that differ.

Re-exported by :mod:`loyalty_sdk.testing`::

    from loyalty_sdk.testing import assert_awards, assert_ledger

    result = loyalty.record_order(make_order("1001", lines=[("beans", "25.00", 1)]))
    assert_awards(result, {"earn.spend": 25, "weekend-coffee": 25})
    assert_ledger(loyalty, "c1", available=50, pending=0)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from loyalty_sdk.core.errors import InvalidInput
from loyalty_sdk.core.models import Award

_ANY = object()  # "not checked": None is a tier a member can hold


def _points(name: str, value: Any) -> int:
    if type(value) is not int:
        raise InvalidInput(f"expected points for {name!r} must be an int, got {value!r}", field=name, value=value)
    return value


def _table(title: str, heading: str, rows: Iterable[tuple[str, Any, Any]]) -> str:
    """Every row, expected beside actual, the differing ones marked with ``!``."""
    rows = [(str(name), "-" if expected is _ANY else repr(expected), "-" if actual is _ANY else repr(actual),
             expected != actual) for name, expected, actual in rows]
    width = max(len(heading), *(len(name) for name, *_ in rows))
    numbers = max(len("expected"), *(max(len(e), len(a)) for _, e, a, _ in rows))
    lines = [title, f"  {heading:<{width}}  {'expected':>{numbers}}  {'actual':>{numbers}}"]
    for name, expected, actual, differs in rows:
        lines.append(f"{'!' if differs else ' '} {name:<{width}}  {expected:>{numbers}}  {actual:>{numbers}}")
    return "\n".join(lines)


def awards_by_rule(result: Any) -> dict[str, int]:
    """Points per ``rule_id`` in an order's result (``record_order``) or a list of awards."""
    awards = getattr(result, "awards", result)
    totals: dict[str, int] = {}
    for award in awards:
        if not isinstance(award, Award):
            raise InvalidInput(f"expected Award objects, got {award!r}", field="awards", value=award)
        totals[award.rule_id] = totals.get(award.rule_id, 0) + award.points
    return totals


def assert_awards(result: Any, expected: Mapping[str, int]) -> None:
    """The awards, summed per rule id, are exactly ``expected``: a rule that awarded points
    the test did not list fails too. Awards of zero points count as absent."""
    __tracebackhide__ = True
    wanted = {rule: _points(rule, points) for rule, points in expected.items() if points != 0}
    actual = {rule: points for rule, points in awards_by_rule(result).items() if points != 0}
    if wanted == actual:
        return
    rules = list(wanted) + sorted(set(actual) - set(wanted))
    rows = [(rule, wanted.get(rule, _ANY), actual.get(rule, _ANY)) for rule in rules]
    rows.append(("total", sum(wanted.values()), sum(actual.values())))
    raise AssertionError(_table("awards differ from the expected points per rule:", "rule", rows))


def assert_ledger(loyalty: Any, member: Any, *, available: int | Any = _ANY, pending: int | Any = _ANY,
                  lifetime_points: int | Any = _ANY, tier: str | None | Any = _ANY) -> None:
    """The member's balances (and tier) are as expected; only the figures given are checked.

    ``member`` is a customer id, an email, a ``MemberRef``, a member id or a Member."""
    __tracebackhide__ = True
    wanted = {"available": available, "pending": pending, "lifetime_points": lifetime_points}
    wanted = {name: _points(name, value) for name, value in wanted.items() if value is not _ANY}
    if tier is not _ANY:
        wanted["tier"] = tier
    if not wanted:
        raise InvalidInput("assert_ledger needs at least one of available, pending, lifetime_points, tier",
                           field="expected", value=None)
    ref = member.id if hasattr(member, "shop_id") else member  # a Member: look it up afresh
    balance = loyalty.balance(ref)
    actual = {name: getattr(balance, name) for name in wanted}
    if wanted == actual:
        return
    rows = [(name, wanted[name], actual[name]) for name in wanted]
    label = (member.customer_id or member.email or ref) if hasattr(member, "shop_id") else member
    raise AssertionError(_table(f"ledger of member {label} differs:", "figure", rows))


__all__ = ["assert_awards", "assert_ledger", "awards_by_rule"]
