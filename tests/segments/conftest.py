import pytest

from . import PROGRAM


@pytest.fixture
def program():
    return PROGRAM
