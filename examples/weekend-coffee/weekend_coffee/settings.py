"""The plugin's section of the program, ``[plugins.weekend_coffee]``, validated.

The plugin loads in every program of an installation, so a program without the section gets
no weekend points and no tier rule: installing the package changes nothing until you opt in.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from loyalty_sdk.core.errors import ProgramError
from loyalty_sdk.core.program import Program

SECTION = "weekend_coffee"


@dataclass(frozen=True)
class Settings:
    collection: str
    """Lines in this collection earn the weekend multiplier."""
    multiplier: Decimal
    """On Saturdays and Sundays (in the program's time zone) these lines earn this many times
    their base points; the bonus is the part above 1."""
    tier: str | None
    """The tier a member holds after ``orders`` orders in ``days`` days (None: no tier rule)."""
    orders: int
    days: int


def _fail(key: str, message: str, value: Any) -> ProgramError:
    name = f"plugins.{SECTION}.{key}"
    return ProgramError(f"{name}: {message} (got {value!r})", field=name, value=value)


def _count(section: dict[str, Any], key: str, default: int) -> int:
    value = section.get(key, default)
    if type(value) is not int or value <= 0:
        raise _fail(key, "must be a whole number above 0", value)
    return value


def settings(program: Program) -> Settings | None:
    """The program's settings for this plugin; None when the program has no section for it."""
    section = program.plugins.get(SECTION)
    if section is None:
        return None
    unknown = set(section) - {"collection", "multiplier", "tier", "orders", "days"}
    if unknown:
        raise _fail(sorted(unknown)[0], "is not a setting of this plugin", section[sorted(unknown)[0]])
    collection = section.get("collection")
    if not isinstance(collection, str) or not collection:
        raise _fail("collection", "must name a collection", collection)
    raw = section.get("multiplier", "2")
    try:
        # Strings or integers only: a TOML float such as 1.5 is not exact.
        multiplier = Decimal(raw) if isinstance(raw, (str, int)) and not isinstance(raw, bool) else None
    except InvalidOperation:
        multiplier = None
    if multiplier is None or not multiplier.is_finite() or multiplier < 1:
        raise _fail("multiplier", 'must be a decimal of at least 1, written as a string like "2"', raw)
    tier = section.get("tier")
    if tier is not None and tier not in {level.id for level in program.tiers.levels}:
        raise _fail("tier", "must be one of the program's tiers", tier)
    return Settings(collection, multiplier, tier, _count(section, "orders", 5), _count(section, "days", 90))
