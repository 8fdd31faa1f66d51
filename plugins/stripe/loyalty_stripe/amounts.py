"""Stripe amounts are integers in minor units, by Stripe's own list of exponents.

Stripe's list differs from ISO 4217 in places: MGA is zero-decimal at Stripe (two in ISO),
ISK is two-decimal in Stripe's API (zero in ISO, whole krónur only). Three-decimal currencies
end in 0. Never assume two, never use a float.
"""

from __future__ import annotations

from decimal import Decimal

from loyalty_sdk.core.money import Money

ZERO_DECIMAL = frozenset("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split())
THREE_DECIMAL = frozenset("BHD JOD KWD OMR TND".split())


def exponent(currency: str) -> int:
    code = currency.upper()
    return 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2


def to_money(amount: int, currency: str) -> Money:
    """Stripe's ``amount`` (minor units, Stripe's exponent) as Money in its ISO currency."""
    code = currency.upper()
    return Money(Decimal(amount).scaleb(-exponent(code)), code)


__all__ = ["THREE_DECIMAL", "ZERO_DECIMAL", "exponent", "to_money"]
