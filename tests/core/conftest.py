"""Core tests run on the round-number test program unless a module overrides ``program``."""

import pytest

from . import base_program


@pytest.fixture
def program():
    return base_program()
