"""The shipped Alembic migrations build exactly the schema the code declares, on every engine."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from loyalty_sdk.core import migrate
from loyalty_sdk.core.storage import metadata, open_engine
from loyalty_sdk.facade import Loyalty

from . import order

TABLES = {"shops", "members", "transactions", "entries", "lots", "lot_draws", "orders", "redemptions",
          "tier_changes", "outbox"}


def schema_differences(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, metadata)


def test_an_upgraded_empty_database_matches_the_declared_schema(database_url):
    engine = open_engine(database_url)
    try:
        assert migrate.current(engine) is None
        assert migrate.upgrade(engine) == migrate.head()
        assert TABLES <= set(inspect(engine).get_table_names())
        assert schema_differences(engine) == []
    finally:
        engine.dispose()


def test_upgrading_twice_changes_nothing(database_url):
    engine = open_engine(database_url)
    try:
        migrate.upgrade(engine)
        migrate.upgrade(engine)
        assert migrate.current(engine) == migrate.head()
        assert schema_differences(engine) == []
    finally:
        engine.dispose()


def test_the_facade_migrates_on_open_and_reopens_existing_books(database_url, clock):
    with Loyalty(database_url, clock=clock, entry_points=False) as first:
        first.enroll("c1")
        first.record_order(order("o1", [("a", "12.00", 1)]))
    with Loyalty(database_url, clock=clock, entry_points=False) as again:
        assert again.balance("c1").pending == 12
        assert again.doctor()["ok"]


def test_the_migration_downgrades_to_nothing_and_back(database_url):
    engine = open_engine(database_url)
    try:
        migrate.upgrade(engine)
        config = migrate.alembic_config()
        with engine.execution_options(loyalty_write=True).begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
        assert TABLES.isdisjoint(inspect(engine).get_table_names())
        migrate.upgrade(engine)
        assert schema_differences(engine) == []
    finally:
        engine.dispose()
