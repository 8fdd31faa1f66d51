"""What a segment is: a named SQL query over one shop's books that picks members and says
why (its figures), with parameters a merchant can set (``--param days=30``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from attrs import field, frozen
from sqlalchemy import BigInteger, cast, func, literal
from sqlalchemy.sql import ColumnElement, Select

from loyalty_sdk.core.errors import InvalidInput, LoyaltyError
from loyalty_sdk.core.program import Program

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
ParamValue = int | Decimal | str


class SegmentNotFound(LoyaltyError, LookupError):
    code = "segment_not_found"
    status = 404


@frozen
class SegmentContext:
    """What a segment's query is built for: one shop, one moment, the parameters given."""

    shop_id: str
    program: Program
    as_of: datetime
    params: Mapping[str, ParamValue]
    dialect: str
    """``sqlite`` or ``postgresql``: the rare query that must differ (see :meth:`epoch`)."""

    def epoch(self, moment: Any) -> ColumnElement[int]:
        """Whole seconds since 1970 of a timestamp column or expression, on either engine: the
        portable way to subtract two moments in SQL."""
        if self.dialect == "postgresql":
            return cast(func.extract("epoch", moment), BigInteger)
        return cast(func.strftime("%s", moment), BigInteger)

    def now_epoch(self) -> ColumnElement[int]:
        """``as_of`` in whole seconds since 1970, as a bound value."""
        return literal(int(self.as_of.timestamp()), BigInteger)


def _check_name(_instance: Any, _attribute: Any, value: str) -> None:
    if not NAME.fullmatch(value):
        raise InvalidInput(f"a segment name is lower-case letters, digits, '-' and '_', got {value!r}",
                           field="name", value=value)


@frozen
class Segment:
    """A segment definition.

    ``query(context)`` returns a SQLAlchemy ``select`` whose first column is labelled
    ``member_id``; its other columns are the figures that put a member in the segment (days
    since the last order, points expiring...). The export adds each member's ``customer_id``,
    ``email``, ``name``, ``tier`` and ``balance`` itself, and only ever for members of the shop
    being exported, so a query need not (but should, for speed) filter on ``shop_id``.

    ``params`` are the parameters and their defaults; a value given on the command line or in
    the URL is converted to its default's type (int, Decimal or str). ``finish(row, context)``,
    when given, turns a row's raw figures into presentable ones (minor units into money, say);
    ``figures`` then names the columns it leaves.
    """

    name: str = field(validator=_check_name)
    description: str
    query: Callable[[SegmentContext], Select[Any]]
    params: Mapping[str, ParamValue] = field(factory=dict)
    finish: Callable[[dict[str, Any], SegmentContext], dict[str, Any]] | None = None
    figures: tuple[str, ...] = ()
    """The figure columns in export order, when ``finish`` renames or adds some (default: the
    query's columns after ``member_id``)."""

    def parse_params(self, given: Mapping[str, str]) -> dict[str, ParamValue]:
        """The defaults overridden by ``given`` (text, as typed), each in its default's type."""
        values: dict[str, ParamValue] = dict(self.params)
        for key, text in given.items():
            if key not in self.params:
                known = ", ".join(sorted(self.params)) or "none"
                raise InvalidInput(f"segment {self.name!r} has no parameter {key!r} (parameters: {known})",
                                   field=key, value=text)
            if "\x00" in text:
                raise InvalidInput(f"parameter {key!r} must not contain NUL characters", field=key)
            values[key] = _convert(self.name, key, text, self.params[key])
        return values


def _convert(segment: str, key: str, text: str, default: ParamValue) -> ParamValue:
    try:
        if isinstance(default, bool):
            raise TypeError("bool parameters are not supported")
        if isinstance(default, int):
            return int(text)
        if isinstance(default, Decimal):
            value = Decimal(text)
            if not value.is_finite():
                raise InvalidOperation(text)
            return value
    except (ValueError, InvalidOperation):
        kind = "a whole number" if isinstance(default, int) else "a number"
        raise InvalidInput(f"segment {segment!r}: {key} must be {kind}, got {text!r}", field=key,
                           value=text) from None
    return text


def parse_assignments(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["days=30", "pct=5"]`` (the CLI's ``--param k=v``) as a mapping."""
    given: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"a parameter is KEY=VALUE, got {pair!r}", field="param", value=pair)
        given[key.strip()] = value.strip()
    return given


__all__ = ["Segment", "SegmentContext", "SegmentNotFound", "parse_assignments"]
