"""Schema migrations shipped in the package (Alembic), applied by ``loyalty db upgrade``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Engine


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("loyalty_sdk.core") / "migrations"))
    return config


def head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


# A PostgreSQL advisory lock key of our own ("loyalty" in ASCII): upgrades of one database wait
# for each other.
MIGRATION_LOCK = 0x6C6F79616C7479


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Bring the database to ``revision``; a no-op when it is already there.

    Every process that opens the books upgrades first, so the workers of one deploy start
    together. On PostgreSQL they take turns under a transaction-scoped advisory lock, and each
    later one reads the revision the first committed and has nothing left to do (without it,
    the second would create the same tables again and fail). SQLite's write lock, taken when
    the transaction begins, does the same there."""
    if revision == "head" and current(engine) == head():
        return head()
    config = alembic_config()
    with engine.execution_options(loyalty_write=True).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return current(engine)


@contextmanager
def opened(url: str) -> Iterator[Engine]:
    """An engine on ``url`` with the schema brought up to date, disposed afterwards."""
    from loyalty_sdk.core.storage import open_engine

    engine = open_engine(url)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
