"""What every analytics value shares: exact numbers and a JSON form.

Points are ints, money is :class:`~loyalty_sdk.core.money.Money`, rates are ``Decimal`` (a
share between 0 and 1, or ``None`` when the denominator is zero). ``as_dict()`` turns a value
into JSON-ready data the way the REST API writes it: money as ``{"amount": "5.00",
"currency": "USD"}`` (amounts are kept in their currency's minor units), rates as strings,
instants in ISO 8601.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from loyalty_sdk.console import plain as console_plain
from loyalty_sdk.core.money import Money

RATE_PLACES = Decimal("0.0001")
"""Rates are rounded to four places (a hundredth of a percent), half to even."""


def rate(numerator: int | Decimal, denominator: int | Decimal) -> Decimal | None:
    """``numerator / denominator`` to four places; None when there is nothing to divide by."""
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATE_PLACES)


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data: money as amount and currency only."""
    if isinstance(value, Money):
        return {"amount": str(value.amount), "currency": value.currency}
    if attrs.has(type(value)):
        return {f.name: plain(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return console_plain(value)


class Figures:
    """Mixin for the attrs values of this package: ``as_dict()`` for JSON."""

    __slots__ = ()

    def as_dict(self) -> dict[str, Any]:
        return plain(self)


__all__ = ["RATE_PLACES", "Figures", "plain", "rate"]
