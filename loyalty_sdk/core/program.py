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
from pydantic_core import to_jsonable_python

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
    """The program's name, shown to members and in reports."""
    currency: str = "USD"
    """ISO 4217 code of the program's home currency: liability, points-as-money and spend tiers."""
    timezone: str = "UTC"
    """IANA time zone of the program's clock: campaign windows, birthdays, daily limits and tier years."""
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
    """Points per whole unit of the order's currency (1: a dollar earns a point)."""
    rates: dict[str, NonNegDecimal] = {}
    """Per-currency overrides of ``points_per_unit``, by ISO 4217 code (``{ JPY = 0.01 }``)."""
    rounding: Rounding = "floor"
    """How an order's points are rounded to a whole number, once per order."""
    pending_days: int = Field(default=14, ge=0)
    """Days earned points stay pending (the return window) before they can be spent; 0: at once."""
    min_order: NonNegDecimal = Decimal(0)
    """Orders whose eligible amount is below this (in the order's currency) earn nothing."""
    exclude_product_ids: frozenset[str] = frozenset()
    """Products whose lines earn nothing."""
    exclude_skus: frozenset[str] = frozenset()
    """SKUs whose lines earn nothing."""
    exclude_collections: frozenset[str] = frozenset()
    """Collections whose lines earn nothing (e.g. ``gift-cards``)."""
    max_points_per_order: int | None = Field(default=None, ge=0)
    """Cap on the points one order earns, bonuses included; unset: no cap."""
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
    """Unique id; awards record it as their rule (``campaign.<id>``)."""
    name: str | None = None
    """What members read beside the bonus points."""
    multiplier: NonNegDecimal
    """Points multiplier on the lines it covers (``"2"``: double points)."""
    starts: datetime | date | None = None
    """When it starts: a local date, a local date-time, or an instant with an offset; unset: always."""
    ends: datetime | date | None = None
    """When it ends: a date runs through that whole local day, a date-time stops just before it."""
    collections: frozenset[str] = frozenset()
    """Only lines in these collections (none of the three filters: every line)."""
    skus: frozenset[str] = frozenset()
    """Only lines with these SKUs."""
    product_ids: frozenset[str] = frozenset()
    """Only lines of these products."""
    tiers: frozenset[str] = frozenset()
    """Only members holding one of these tiers (ids from ``[[tiers.levels]]``); empty: everyone."""
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
    """How several multipliers on one line combine."""
    max_multiplier: NonNegDecimal | None = None
    """Cap on a line's combined multiplier; unset: no cap."""
    include_tier: bool = True
    """Whether the tier multiplier stacks with campaigns (else only campaigns stack)."""


class ActivityRule(_Section):
    kind: str
    """The activity's kind: ``signup``, ``birthday``, ``review``, ``social_follow`` or your own."""
    points: int = Field(ge=0)
    """Points one activity of this kind earns."""
    per_day: int | None = Field(default=None, ge=0)
    """At most this many earning activities of this kind per member per local day."""
    per_year: int | None = Field(default=None, ge=0)
    """At most this many per member per calendar year (``1`` for a birthday)."""
    per_lifetime: int | None = Field(default=None, ge=0)
    """At most this many per member, ever."""
    pending: bool = False
    """Activities earn available points unless this is set."""


class TierLevel(_Section):
    id: str
    """Unique id, referred to by campaigns and rewards."""
    name: str | None = None
    """Display name; the id when unset."""
    threshold: NonNegDecimal = Decimal(0)
    """The qualifying total (in ``tiers.metric``) that reaches this tier; the first level's is usually 0."""
    multiplier: NonNegDecimal = Decimal(1)
    """Points multiplier for members of this tier (``"1.5"``: half as many again)."""
    perks: tuple[str, ...] = ()
    """Perks listed to members (free shipping, early access...); text only."""


class Tiers(_Section):
    metric: Literal["points", "spend", "orders"] = "points"
    """What qualifies: released points, spend in the program's currency, or orders."""
    window: Literal["rolling", "calendar_year", "lifetime"] = "calendar_year"
    """The period that counts: the calendar year, a rolling ``window_days``, or all time."""
    window_days: int = Field(default=365, gt=0)
    """Length of the rolling window."""
    grace_days: int = Field(default=0, ge=0)
    """Days a tier is kept after the period that earned it is over."""
    levels: tuple[TierLevel, ...] = ()
    """The tiers, thresholds strictly increasing."""

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
    """How points expire."""
    days: int = Field(default=365, gt=0)
    """Days after earning (``lot``) or of inactivity (``inactivity``) until points expire."""
    reminder_days: tuple[int, ...] = (30, 7)
    """Expiry reminders (``loyalty_points_expiring``) this many days before a lot expires."""


class Clawback(_Section):
    """What happens when a refund takes back points the member already spent.

    ``negative``: the balance goes negative, down to ``-max_negative`` at most; the rest is
    written off. ``write_off``: never below zero; the shortfall is recorded on the transaction.
    """

    spent_points: Literal["negative", "write_off"] = "negative"
    """Policy for a refund of points the member already spent."""
    max_negative: int = Field(default=1000, ge=0)
    """How far below zero a balance may go under ``negative``."""


REFERRAL_KINDS = ("referral", "referral_welcome")
"""The activity kinds referral rewards are posted as: the referrer's, and the friend's."""


class Referrals(_Section):
    """Rewards for bringing a friend (the built-in referrals plugin; the section turns it on).

    A member shares their code or link; a friend who signs up with it and places a first
    qualifying order earns ``referee_points`` on that order (pending for the return window like
    the order's own points, when ``pending``). Once that order has passed the return window
    without a refund or cancellation, the member who referred them earns ``referrer_points``.
    Self-referrals, the referrer's own email, payment method or address, friends who already
    bought, and referrers over their cap are refused with a recorded reason.
    """

    referrer_points: int = Field(default=0, ge=0)
    """Points for the member whose friend's first qualifying order passed the return window."""
    referee_points: int = Field(default=0, ge=0)
    """Points for the friend, on their first qualifying order."""
    pending: bool = True
    """The friend's points wait for the order's return window (``earn.pending_days``), and are
    taken back if that order is refunded or cancelled within it."""
    min_order: NonNegDecimal = Decimal(0)
    """Least merchandise value (after discounts, before tax and shipping) of a qualifying order,
    in the program's currency. An order in another currency qualifies only when this is 0."""
    window_days: int | None = Field(default=None, gt=0)
    """Days after the referral within which the friend's qualifying order must be placed
    (unset: no limit)."""
    max_rewards: int | None = Field(default=None, gt=0)
    """Referrals one member can be rewarded for (unset: no cap); see ``cap_days``."""
    cap_days: int | None = Field(default=None, gt=0)
    """The period ``max_rewards`` counts over, in days back from each reward (unset: lifetime)."""
    link: str | None = None
    """The shareable link, with ``{code}`` where the member's code goes
    (``"https://shop.example/?ref={code}"``); unset, members get only a code."""

    @field_validator("link")
    @classmethod
    def _link(cls, link: str | None) -> str | None:
        if link is not None and "{code}" not in link:
            raise ValueError(f"link must contain {{code}}, got {link!r}")
        return link


class RewardRule(_Section):
    id: str
    """Unique id, named when redeeming."""
    name: str
    """What members read in the catalog."""
    kind: Literal["fixed_amount", "percent_off", "free_shipping", "free_product", "points_as_money"]
    """What the reward is; platforms turn it into a code, a coupon or a credit."""
    points: int = Field(default=0, ge=0)
    """Its price in points (every kind but ``points_as_money``)."""
    value: NonNegDecimal | None = None
    """Amount off (fixed_amount), percent (percent_off) or the product's price (free_product)."""
    min_points: int | None = Field(default=None, gt=0)
    """``points_as_money``: the fewest points a member may spend at once."""
    max_points: int | None = Field(default=None, gt=0)
    """``points_as_money``: the most points a member may spend at once."""
    step: int = Field(default=1, gt=0)
    """``points_as_money``: points are spent in multiples of this."""
    tiers: frozenset[str] = frozenset()
    """Only members holding one of these tiers may redeem it; empty: everyone."""
    limit_per_member: int | None = Field(default=None, gt=0)
    """How many times one member may redeem it; unset: no limit."""
    product_id: str | None = None
    """``free_product``: the product given."""
    min_order: NonNegDecimal | None = None
    """A minimum order amount listed with the reward (``GET /api/v1/rewards``)."""

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
    referrals: Referrals | None = None
    """Referral rewards; without this section nobody earns for referrals."""
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
        if self.referrals is not None and set(kinds) & set(REFERRAL_KINDS):
            raise ValueError(f"referral points are set in [referrals], not as [[activities]] kinds {kinds}")
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
        dump = _canonical(self.model_dump(mode="python"))
        # Programs written before these sections existed keep their version.
        for section in ("plugins", "referrals"):
            if not dump[section]:
                del dump[section]
        body = json.dumps(dump, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()[:12]

    def activity(self, kind: str) -> ActivityRule | None:
        for rule in self.activities:
            if rule.kind == kind:
                return rule
        return None

    def activity_pending(self, kind: str) -> bool:
        """Whether an activity of ``kind`` earns pending points (for the return window)."""
        if not self.earn.pending_days:
            return False
        if kind == "referral_welcome" and self.referrals is not None:
            return self.referrals.pending
        rule = self.activity(kind)
        return bool(rule and rule.pending)

    def reward(self, reward_id: str) -> RewardRule | None:
        for rule in self.rewards:
            if rule.id == reward_id:
                return rule
        return None


def _canonical(value: Any) -> Any:
    """``value`` as JSON data the same in every process: pydantic's JSON form, except that sets
    (a reward's tiers, a campaign's collections) are sorted, not left in hash order, which
    changes with ``PYTHONHASHSEED`` and would give one program two versions."""
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_canonical(item) for item in value), key=lambda item: json.dumps(item, sort_keys=True))
    return to_jsonable_python(value)


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
    "REFERRAL_KINDS",
    "Referrals",
    "RewardRule",
    "Stacking",
    "TierLevel",
    "Tiers",
    "load_program",
    "program_from_mapping",
    "program_from_toml",
]
