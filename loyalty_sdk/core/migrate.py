"""Schema migrations shipped in the package (Alembic), applied by ``loyalty db upgrade``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
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


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Bring the database to ``revision``; a no-op when it is already there."""
    if revision == "head" and current(engine) == head():
        return head()
    config = alembic_config()
    with engine.execution_options(loyalty_write=True).begin() as connection:
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
