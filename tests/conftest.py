"""Fixtures shared by the test suite: a ledger database on every engine we support.

``database_url`` is parametrized over SQLite (a file in ``tmp_path``) and PostgreSQL (a fresh,
uniquely named schema per test on the server named by ``LOYALTY_TEST_POSTGRES_URL``, dropped
afterwards). PostgreSQL cases carry the ``postgres`` marker and are skipped, not silently
dropped, when no server is configured, so CI can count them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from loyalty_sdk.facade import Loyalty
from loyalty_sdk.testing import Clock, PostgresSchemas, postgres_server_url

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
"""The moment every test starts at (a Monday, well inside a calendar year)."""


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


@pytest.fixture
def install_plugin(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., str]]:
    """``install_plugin(source, name=..., distribution=..., version=...)``: a module holding
    ``source``, installed as a distribution registering it in the ``loyalty_sdk`` entry-point
    group (a ``.dist-info`` on ``sys.path``, as pip would leave it); the entry point's name."""
    import sys
    import textwrap

    modules: list[str] = []

    def install(source: str, *, name: str = "acme_rules", distribution: str = "acme-rules",
                version: str = "1.2.3") -> str:
        root = tmp_path / f"site-{name}"
        module = f"{name}_{len(modules)}_plugin"
        info = root / f"{distribution.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        (root / f"{module}.py").write_text(textwrap.dedent(source))
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[loyalty_sdk]\n{name} = {module}\n")
        monkeypatch.syspath_prepend(str(root))
        modules.append(module)
        return name

    yield install
    for module in modules:
        sys.modules.pop(module, None)
