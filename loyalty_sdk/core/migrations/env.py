"""Alembic environment: runs the ledger migrations on the connection the SDK passes in."""

from alembic import context

from loyalty_sdk.core.storage import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs plain `alembic`
    raise RuntimeError("run migrations through `loyalty db upgrade` or loyalty_sdk.core.migrate")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
