"""Programs for the tests: a Paris coffee shop, with or without this plugin's section."""

from __future__ import annotations

from typing import Any


def coffee_program(**section: Any) -> dict[str, Any]:
    """A Paris shop with three tiers, points available at once, and this plugin's section."""
    program: dict[str, Any] = {
        "program": {"currency": "EUR", "timezone": "Europe/Paris"},
        "earn": {"pending_days": 0},
        "tiers": {"metric": "points", "window": "lifetime", "levels": [
            {"id": "member", "threshold": 0}, {"id": "regular", "threshold": 1000},
            {"id": "gold", "threshold": 5000}]},
    }
    if section:
        program["plugins"] = {"weekend_coffee": section}
    return program
