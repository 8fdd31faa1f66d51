"""A fresh store app per test, its ledger from loyalty-sdk's ``loyalty_database_url`` fixture
(SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask_store import create_app, loyalty


@pytest.fixture
def store_app(loyalty_database_url: str) -> Iterator[Flask]:
    app = create_app({"TESTING": True, "SECRET_KEY": "tests only", "LOYALTY_DATABASE_URL": loyalty_database_url,
                      "STAFF_EMAILS": ["grace@example.com"]})
    yield app
    loyalty.close(app)
