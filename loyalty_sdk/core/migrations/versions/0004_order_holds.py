"""Holds on orders: a disputed payment's points stay pending until the dispute closes.

- orders.held_since, orders.hold_reason: set while a hold is open; the release job skips the
  lots of held orders. ``ix_orders_held`` is partial (open holds are few): the release job's
  query reads only it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 02:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

HELD = sa.text("held_since IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('hold_reason', sa.String(length=255), nullable=True))
    op.create_index('ix_orders_held', 'orders', ['shop_id', 'transaction_id'], unique=False,
                    postgresql_where=HELD, sqlite_where=HELD)


def downgrade() -> None:
    op.drop_index('ix_orders_held', table_name='orders')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('hold_reason')
        batch_op.drop_column('held_since')
