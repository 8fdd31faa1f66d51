"""Fixtures shared by the test suite: a ledger database on every engine we support.

``database_url`` is parametrized over SQLite (a file in ``tmp_path``) and PostgreSQL (a fresh,
uniquely named schema per test on the server named by ``LOYALTY_TEST_POSTGRES_URL``, dropped
afterwards). PostgreSQL cases carry the ``postgres`` marker and are skipped, not silently
dropped, when no server is configured, so CI can count them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest

from loyalty_sdk.facade import Loyalty
from loyalty_sdk.testing import Clock

POSTGRES_ENV = "LOYALTY_TEST_POSTGRES_URL"
SKIP_POSTGRES = (
    f"{POSTGRES_ENV} is not set: PostgreSQL tests need a server "
    f"(e.g. {POSTGRES_ENV}=postgresql://postgres@127.0.0.1:5432/test)"
)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
"""The moment every test starts at (a Monday, well inside a calendar year)."""


def postgres_server_url() -> str:
    """The configured server, or skip the calling test."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(SKIP_POSTGRES)
    return url


def _with_search_path(url: str, schema: str) -> str:
    # libpq "options" reach the server at connect time, so every pooled connection (and every
    # process) lands in the schema without any per-connection setup in the SDK.
    option = quote(f"-csearch_path={schema}", safe="")
    return f"{url}{'&' if '?' in url else '?'}options={option}"


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


class PostgresSchemas:
    """Creates throwaway schemas on the test server and drops them all at the end."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.created: list[str] = []

    def new_url(self) -> str:
        import psycopg

        schema = f"loyalty_test_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(_psycopg_url(self.server_url), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        self.created.append(schema)
        return _with_search_path(self.server_url, schema)

    def drop_all(self) -> None:
        if not self.created:
            return
        import psycopg

        with psycopg.connect(_psycopg_url(self.server_url), autocommit=True) as conn:
            conn.execute("SET lock_timeout = '10s'")
            for schema in self.created:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        self.created.clear()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql``."""
    return request.param


@pytest.fixture
def make_database_url(backend: str, tmp_path: Any) -> Iterator[Callable[[], str]]:
    """A factory of empty databases on the test's backend (one per call, all cleaned up)."""
    if backend == "sqlite":
        counter = iter(range(1_000_000))

        def new_sqlite() -> str:
            n = next(counter)
            return f"sqlite:///{tmp_path}/l.db" if n == 0 else f"sqlite:///{tmp_path}/l{n}.db"

        yield new_sqlite
        return
    schemas = PostgresSchemas(postgres_server_url())
    try:
        yield schemas.new_url
    finally:
        schemas.drop_all()


@pytest.fixture
def database_url(make_database_url: Callable[[], str]) -> str:
    """An empty ledger database: a SQLite file, or a fresh PostgreSQL schema."""
    return make_database_url()


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The PostgreSQL server URL (the test is skipped when none is configured)."""
    return postgres_server_url()


@pytest.fixture
def postgres_url(tmp_path: Any) -> Iterator[str]:
    """A fresh PostgreSQL schema, for tests that only make sense on PostgreSQL."""
    schemas = PostgresSchemas(postgres_server_url())
    try:
        yield schemas.new_url()
    finally:
        schemas.drop_all()


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def program() -> Any:
    """The program ``books`` uses (None: the built-in one); test modules override this."""
    return None


@pytest.fixture
def loyalty_at(database_url: str, program: Any, clock: Clock) -> Iterator[Callable[..., Loyalty]]:
    """``loyalty_at(url=None, program=None, **options)``: a Loyalty on ``url`` (default: this
    test's database) with ``program`` (default: the ``program`` fixture), the test clock and no
    entry-point plugins. Every instance is closed after the test."""
    opened: list[Loyalty] = []
    default_program = program

    def build(url: str | None = None, program: Any = None, **options: Any) -> Loyalty:
        options.setdefault("clock", clock)
        options.setdefault("entry_points", False)
        instance = Loyalty(url or database_url, default_program if program is None else program, **options)
        opened.append(instance)
        return instance

    yield build
    for instance in opened:
        instance.close()


@pytest.fixture
def books(loyalty_at: Callable[..., Loyalty]) -> Loyalty:
    """The program's books on this test's database."""
    return loyalty_at()
