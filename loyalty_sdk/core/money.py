"""Money: a Decimal amount with its ISO 4217 currency, never a float.

Minor units follow ISO 4217 (JPY and KRW have none, KWD and BHD have three), so amounts
quantize and convert to and from platform minor-unit integers correctly.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from attrs import field, frozen

from loyalty_sdk.core.errors import CurrencyError, InvalidInput

_ZERO_DECIMAL = frozenset(
    "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split()
)
_THREE_DECIMAL = frozenset("BHD IQD JOD KWD LYD OMR TND".split())
_FOUR_DECIMAL = frozenset({"CLF", "UYW"})
_TWO_DECIMAL = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN
    BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP
    GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL
    MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK
    PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB
    TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST XCD YER ZAR ZMW ZWL""".split()
)

MINOR_UNITS: dict[str, int] = {
    **{c: 2 for c in _TWO_DECIMAL},
    **{c: 0 for c in _ZERO_DECIMAL},
    **{c: 3 for c in _THREE_DECIMAL},
    **{c: 4 for c in _FOUR_DECIMAL},
}
_QUANTUM = {exp: Decimal(1).scaleb(-exp) for exp in set(MINOR_UNITS.values())}


def currency_exponent(currency: str) -> int:
    """Digits after the decimal point for ``currency``; raises CurrencyError if unknown."""
    try:
        return MINOR_UNITS[currency]
    except (KeyError, TypeError):
        raise CurrencyError(
            f"currency {currency!r} is not an ISO 4217 code", field="currency", value=currency
        ) from None


def to_decimal(value: object, *, field: str) -> Decimal:
    """Accept Decimal, int or a numeric string; refuse floats, which cannot hold money exactly."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool) or isinstance(value, float):
        raise InvalidInput(
            f"{field} must be a Decimal or a string, not {type(value).__name__} {value!r}",
            field=field,
            value=value,
        )
    elif isinstance(value, (int, str)):
        try:
            result = Decimal(value)
        except InvalidOperation:
            raise InvalidInput(f"{field} is not a number: {value!r}", field=field, value=value) from None
    else:
        raise InvalidInput(
            f"{field} must be a Decimal or a string, not {type(value).__name__}", field=field, value=value
        )
    if not result.is_finite():
        raise InvalidInput(f"{field} must be finite, got {value!r}", field=field, value=value)
    return result


def _amount(value: object) -> Decimal:
    return to_decimal(value, field="amount")


def _currency(value: object) -> str:
    code = value.upper() if isinstance(value, str) else value
    currency_exponent(code)  # type: ignore[arg-type]
    return code  # type: ignore[return-value]


@frozen
class Money:
    """An exact amount in one currency. ``Money("12.50", "USD")``; floats are refused."""

    amount: Decimal = field(converter=_amount)
    currency: str = field(converter=_currency)
    minor: int = field(init=False, eq=False, repr=False)
    """The amount in integer minor units (cents, yen, fils), rounded half-even to the currency's
    precision. Computed once here, since every ledger figure is kept in minor units."""

    def __attrs_post_init__(self) -> None:
        scaled = self.amount.scaleb(MINOR_UNITS[self.currency])
        whole = int(scaled)
        if whole != scaled:
            whole = int(scaled.to_integral_value(rounding=ROUND_HALF_EVEN))
        object.__setattr__(self, "minor", whole)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    @classmethod
    def from_minor(cls, minor: int, currency: str) -> Money:
        """From a platform's integer minor units (Stripe's ``amount``)."""
        if not isinstance(minor, int) or isinstance(minor, bool):
            raise InvalidInput(f"minor units must be an int, got {minor!r}", field="amount", value=minor)
        return cls(Decimal(minor).scaleb(-currency_exponent(currency)), currency)

    @property
    def exponent(self) -> int:
        return MINOR_UNITS[self.currency]

    def to_minor(self) -> int:
        """Integer minor units (cents, yen, fils), rounded half-even to the currency's precision."""
        return self.minor

    def quantized(self) -> Money:
        """Rounded to the currency's minor unit (banker's rounding, as accounting does)."""
        return Money(self.amount.quantize(_QUANTUM[self.exponent], rounding=ROUND_HALF_EVEN), self.currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise InvalidInput(f"cannot combine Money with {type(other).__name__}", field="amount", value=other)
        if other.currency != self.currency:
            raise CurrencyError(
                f"mixed currencies: {self.currency} and {other.currency}", field="currency", value=other.currency
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        if isinstance(factor, float):
            raise InvalidInput("cannot multiply Money by a float", field="factor", value=factor)
        return Money(self.amount * factor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __str__(self) -> str:
        return f"{self.quantized().amount} {self.currency}"


__all__ = ["MINOR_UNITS", "Money", "currency_exponent", "to_decimal"]
