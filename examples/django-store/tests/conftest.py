"""Django's test database for the store's own tables, and a fresh ledger per test from
loyalty-sdk's ``loyalty_database_url`` fixture (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import django
import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_store.settings")
django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import override_settings, setup_test_environment, teardown_test_environment  # noqa: E402

FAST_HASHER = "django.contrib.auth.hashers.MD5PasswordHasher"


@pytest.fixture(scope="session")
def store_database() -> Iterator[None]:
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    yield
    connection.creation.destroy_test_db(old_name, verbosity=0)
    teardown_test_environment()


@pytest.fixture
def store_loyalty(store_database: None, loyalty_database_url: str) -> Iterator[object]:
    """The process's Loyalty on an empty ledger; the store's rows are rolled back after the test."""
    from django_store.loyalty import get_loyalty

    # A fast password hasher: the real one is slow on purpose, and every test signs someone up.
    with override_settings(LOYALTY_DATABASE_URL=loyalty_database_url, PASSWORD_HASHERS=[FAST_HASHER]), \
            transaction.atomic():
        yield get_loyalty()
        transaction.set_rollback(True)
