"""The analytics tests read one hand-built store history (see ``history``) on every engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from loyalty_sdk.facade import Loyalty

from .history import PROGRAM, build


@pytest.fixture
def program() -> Any:
    return PROGRAM


@pytest.fixture
def store(loyalty_at: Callable[..., Loyalty], clock: Any) -> Loyalty:
    """The books after the whole history, read on 2026-06-15."""
    loyalty = loyalty_at()
    build(loyalty, clock)
    return loyalty
