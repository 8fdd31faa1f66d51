"""The program every test of this plugin runs: loyalty-sdk's ``loyalty`` fixture reads it."""

from __future__ import annotations

from typing import Any

import pytest
from coffee_program import coffee_program


@pytest.fixture
def loyalty_program() -> dict[str, Any]:
    return coffee_program(collection="coffee", multiplier="2", tier="regular", orders=5, days=90)


@pytest.fixture(autouse=True)
def weekend_coffee(register_plugin: Any) -> Any:
    """The plugin, registered on the ``loyalty`` fixture's engine for each test."""
    from weekend_coffee import plugin

    return register_plugin(plugin)
