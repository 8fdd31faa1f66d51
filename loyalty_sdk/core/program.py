"""The loyalty program as code: ``loyalty.toml`` validated by pydantic.

Merchants keep this file in git, so the keys are public surface. Numbers that are money or
rates are read as Decimal (TOML floats included: ``rates = { JPY = 0.01 }`` means exactly 0.01).
A validation failure raises ProgramError naming the key path and the value.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from datetime import date, datetime, time
from decimal import ROUND_FLOOR, Decimal
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from loyalty_sdk.core.allocation import round_ratio
from loyalty_sdk.core.errors import ProgramError
from loyalty_sdk.core.money import MINOR_UNITS

NonNegDecimal = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
Rounding = Literal["floor", "ceil", "half_up", "half_even"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_currency(code: str) -> str:
    if code not in MINOR_UNITS:
        raise ValueError(f"{code!r} is not an ISO 4217 currency code")
    return code


class ProgramInfo(_Section):
    name: str = "Rewards"
    currency: str = "USD"
    timezone: str = "UTC"
    point_value: NonNegDecimal = Decimal("0.01")
    """Currency per point, for liability and points-as-money rewards."""
    version: str | None = None
    """Optional label; the recorded program version is always the content hash."""

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return _check_currency(value)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class EarnRules(_Section):
    points_per_unit: NonNegDecimal = Decimal(1)
    rates: dict[str, NonNegDecimal] = {}
    rounding: Rounding = "floor"
    pending_days: int = Field(default=14, ge=0)
    min_order: NonNegDecimal = Decimal(0)
    """Orders whose eligible amount is below this (in the order's currency) earn nothing."""
    exclude_product_ids: frozenset[str] = frozenset()
    exclude_skus: frozenset[str] = frozenset()
    exclude_collections: frozenset[str] = frozenset()
    max_points_per_order: int | None = Field(default=None, ge=0)
    hold_disputed: bool = True
    """A payment disputed (a chargeback opened) keeps the points it earned pending until the
    dispute closes, when the platform reports disputes (Stripe does)."""

    @field_validator("rates")
    @classmethod
    def _rates(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for code in value:
            _check_currency(code)
        return value

    def rate(self, currency: str) -> Decimal:
        return self.rates.get(currency, self.points_per_unit)

    def spend_points(self, spend_minor: int, currency: str) -> int:
        """Points for ``spend_minor`` of eligible spend in ``currency``, rounded once under
        ``rounding``; 0 below ``min_order``. Exact integer arithmetic: the rate is held as a
        ratio of integers per minor unit, worked out once per currency."""
        terms = self.currency_terms.get(currency)
        if terms is None:
            exponent = MINOR_UNITS[currency]
            numerator, denominator = self.rate(currency).scaleb(-exponent).as_integer_ratio()
            # Spend is whole minor units, so "below min_order" is "below its ceiling".
            least = -int((-self.min_order.scaleb(exponent)).to_integral_value(rounding=ROUND_FLOOR))
            terms = self.currency_terms[currency] = (numerator, denominator, least)
        numerator, denominator, least = terms
        if spend_minor < least:
            return 0
        return round_ratio(spend_minor * numerator, denominator, self.rounding)

    @cached_property
    def currency_terms(self) -> dict[str, tuple[int, int, int]]:
        """Per currency: the rate per minor unit as (numerator, denominator) and the least
        eligible spend in minor units; filled by :meth:`spend_points` as currencies appear."""
        return {}

    @cached_property
    def excludes(self) -> bool:
        """Whether any product, SKU or collection is excluded from earning."""
        return bool(self.exclude_product_ids or self.exclude_skus or self.exclude_collections)


class Campaign(_Section):
    """A multiplier on matching lines, optionally limited to a local-time date window.

    With no ``collections``, ``skus`` or ``product_ids`` it applies to every eligible line.
    Without ``starts``/``ends`` it is permanent (a standing product multiplier).
    """

    id: str
    name: str | None = None
    multiplier: NonNegDecimal
    starts: datetime | date | None = None
    ends: datetime | date | None = None
    collections: frozenset[str] = frozenset()
    skus: frozenset[str] = frozenset()
    product_ids: frozenset[str] = frozenset()
    tiers: frozenset[str] = frozenset()
    max_bonus_points: int | None = Field(default=None, ge=0)
    """Cap on this campaign's bonus points per order."""

    @model_validator(mode="after")
    def _window(self) -> Campaign:
        if self.starts is not None and self.ends is not None and _as_dt(self.ends, end=True) <= _as_dt(self.starts):
            raise ValueError(f"campaign {self.id!r} ends ({self.ends}) before it starts ({self.starts})")
        return self


def _as_dt(value: datetime | date, *, end: bool = False) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo else value
    # A bare date as an end means "through that whole day".
    return datetime.combine(value, time.max if end else time.min)


class Stacking(_Section):
    """How several multipliers on one line combine: ``multiply``, ``add`` (bonuses add up) or
    ``highest`` (only the largest applies). ``max_multiplier`` caps the combined multiplier."""

    mode: Literal["multiply", "add", "highest"] = "highest"
    max_multiplier: NonNegDecimal | None = None
    include_tier: bool = True
    """Whether the tier multiplier stacks with campaigns (else only campaigns stack)."""


class ActivityRule(_Section):
    kind: str
    points: int = Field(ge=0)
    per_day: int | None = Field(default=None, ge=0)
    per_year: int | None = Field(default=None, ge=0)
    per_lifetime: int | None = Field(default=None, ge=0)
    pending: bool = False
    """Activities earn available points unless this is set."""


class TierLevel(_Section):
    id: str
    name: str | None = None
    threshold: NonNegDecimal = Decimal(0)
    multiplier: NonNegDecimal = Decimal(1)
    perks: tuple[str, ...] = ()


class Tiers(_Section):
    metric: Literal["points", "spend", "orders"] = "points"
    window: Literal["rolling", "calendar_year", "lifetime"] = "calendar_year"
    window_days: int = Field(default=365, gt=0)
    grace_days: int = Field(default=0, ge=0)
    levels: tuple[TierLevel, ...] = ()

    @field_validator("levels")
    @classmethod
    def _levels(cls, levels: tuple[TierLevel, ...]) -> tuple[TierLevel, ...]:
        ids = [level.id for level in levels]
        if len(set(ids)) != len(ids):
            raise ValueError(f"tier ids must be unique, got {ids}")
        thresholds = [level.threshold for level in levels]
        if thresholds != sorted(thresholds) or len(set(thresholds)) != len(thresholds):
            raise ValueError(f"tier thresholds must strictly increase, got {[str(t) for t in thresholds]}")
        return levels

    def level(self, tier_id: str | None) -> TierLevel | None:
        for level in self.levels:
            if level.id == tier_id:
                return level
        return None

    def rank(self, tier_id: str | None) -> int:
        for index, level in enumerate(self.levels):
            if level.id == tier_id:
                return index
        return -1


class Expiry(_Section):
    """``lot``: each earning expires ``days`` after it was earned. ``inactivity``: all points
    expire after ``days`` without activity. ``none``: points never expire."""

    mode: Literal["none", "lot", "inactivity"] = "none"
    days: int = Field(default=365, gt=0)
    reminder_days: tuple[int, ...] = (30, 7)


class Clawback(_Section):
    """What happens when a refund takes back points the member already spent.

    ``negative``: the balance goes negative, down to ``-max_negative`` at most; the rest is
    written off. ``write_off``: never below zero; the shortfall is recorded on the transaction.
    """

    spent_points: Literal["negative", "write_off"] = "negative"
    max_negative: int = Field(default=1000, ge=0)


class RewardRule(_Section):
    id: str
    name: str
    kind: Literal["fixed_amount", "percent_off", "free_shipping", "free_product", "points_as_money"]
    points: int = Field(default=0, ge=0)
    value: NonNegDecimal | None = None
    """Amount off (fixed_amount), percent (percent_off) or the product's price (free_product)."""
    min_points: int | None = Field(default=None, gt=0)
    max_points: int | None = Field(default=None, gt=0)
    step: int = Field(default=1, gt=0)
    tiers: frozenset[str] = frozenset()
    limit_per_member: int | None = Field(default=None, gt=0)
    product_id: str | None = None
    min_order: NonNegDecimal | None = None

    @model_validator(mode="after")
    def _shape(self) -> RewardRule:
        if self.kind == "points_as_money":
            if self.min_points is None:
                raise ValueError(f"reward {self.id!r}: points_as_money needs min_points")
            if self.max_points is not None and self.max_points < self.min_points:
                raise ValueError(f"reward {self.id!r}: max_points {self.max_points} < min_points {self.min_points}")
        elif self.points <= 0:
            raise ValueError(f"reward {self.id!r}: points must be positive for kind {self.kind}")
        if self.kind in ("fixed_amount", "percent_off") and self.value is None:
            raise ValueError(f"reward {self.id!r}: kind {self.kind} needs a value")
        if self.kind == "percent_off" and self.value is not None and self.value > 100:
            raise ValueError(f"reward {self.id!r}: percent_off value {self.value} is over 100")
        if self.kind == "free_product" and not self.product_id:
            raise ValueError(f"reward {self.id!r}: free_product needs product_id")
        return self


class Program(_Section):
    """A whole loyalty program. Build with :func:`load_program`."""

    program: ProgramInfo = ProgramInfo()
    earn: EarnRules = EarnRules()
    stacking: Stacking = Stacking()
    campaigns: tuple[Campaign, ...] = ()
    activities: tuple[ActivityRule, ...] = ()
    tiers: Tiers = Tiers()
    expiry: Expiry = Expiry()
    clawback: Clawback = Clawback()
    rewards: tuple[RewardRule, ...] = ()
    plugins: dict[str, dict[str, Any]] = {}
    """Third-party plugins' own settings, by plugin name (``[plugins.weekend_coffee]``): kept
    for the plugin, which validates its section; a plugin without one should do nothing."""

    @model_validator(mode="after")
    def _unique(self) -> Program:
        for name, items in (("campaigns", self.campaigns), ("rewards", self.rewards)):
            ids = [item.id for item in items]
            if len(set(ids)) != len(ids):
                raise ValueError(f"{name} ids must be unique, got {ids}")
        kinds = [a.kind for a in self.activities]
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"activity kinds must be unique, got {kinds}")
        known = {level.id for level in self.tiers.levels}
        for item in (*self.campaigns, *self.rewards):
            unknown = set(item.tiers) - known
            if unknown:
                raise ValueError(f"{item.id!r} names unknown tiers {sorted(unknown)}")
        return self

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.program.timezone)

    @cached_property
    def version(self) -> str:
        """Content hash of the validated program: what each ledger transaction records."""
        dump = self.model_dump(mode="json")
        if not self.plugins:  # programs written before the section existed keep their version
            del dump["plugins"]
        body = json.dumps(dump, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()[:12]

    def activity(self, kind: str) -> ActivityRule | None:
        for rule in self.activities:
            if rule.kind == kind:
                return rule
        return None

    def reward(self, reward_id: str) -> RewardRule | None:
        for rule in self.rewards:
            if rule.id == reward_id:
                return rule
        return None


def _describe(error: ValidationError, source: str) -> str:
    lines = []
    for item in error.errors():
        path = ".".join(str(p) for p in item["loc"]) or "(top level)"
        value = item.get("input")
        shown = "" if isinstance(value, dict) else f" (got {value!r})"
        lines.append(f"{source}: {path}: {item['msg']}{shown}")
    return "\n".join(lines)


def program_from_mapping(data: dict[str, Any], *, source: str = "program") -> Program:
    try:
        return Program.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        raise ProgramError(
            _describe(error, source),
            field=".".join(str(p) for p in first["loc"]),
            value=first.get("input"),
        ) from None


def program_from_toml(text: str, *, source: str = "loyalty.toml") -> Program:
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as error:
        raise ProgramError(f"{source}: not valid TOML: {error}", field=None, value=None) from None
    return program_from_mapping(data, source=source)


def default_program_text() -> str:
    return resources.files("loyalty_sdk").joinpath("default_program.toml").read_text(encoding="utf-8")


def load_program(program: Program | str | Path | dict[str, Any] | None = None) -> Program:
    """A Program from a Program, a path to a TOML file, a mapping, or None for the built-in one."""
    if isinstance(program, Program):
        return program
    if program is None:
        return program_from_toml(default_program_text(), source="default program")
    if isinstance(program, dict):
        return program_from_mapping(program)
    path = Path(program)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ProgramError(f"cannot read program file {str(path)!r}: {error.strerror}", field="program", value=str(path)) from None
    return program_from_toml(text, source=str(path))


__all__ = [
    "ActivityRule",
    "Campaign",
    "Clawback",
    "EarnRules",
    "Expiry",
    "Program",
    "ProgramInfo",
    "RewardRule",
    "Stacking",
    "TierLevel",
    "Tiers",
    "load_program",
    "program_from_mapping",
    "program_from_toml",
]
