"""Lean hot-path indexes: every earn wrote 18 B-trees; now 14.

- entries(shop_id, member_id, account), orders(shop_id, member_id, placed_at): no query read
  them; reconciliation scans whole tables anyway.
- transactions(shop_id, order_id) becomes a partial index on refers_to: take-backs find their
  predecessors through the earn they refer to, and earns, which refer to nothing, skip it.
- lots(shop_id, status, available_at) and lots(shop_id, expires_at) become partial indexes,
  the release queue (pending lots) and the expiry queue (available lots that expire): a lot
  sits in at most one of them at a time.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 21:27:48.904636
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")
EXPIRING = sa.text("status = 'available' AND expires_at IS NOT NULL")
REFERS = sa.text('refers_to IS NOT NULL')


def upgrade() -> None:
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entries_shop_id_member_id_account'))

    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lots_shop_id_status_available_at'))
        batch_op.drop_index(batch_op.f('ix_lots_shop_id_expires_at'))
        batch_op.create_index(batch_op.f('ix_lots_shop_id_available_at'), ['shop_id', 'available_at'], unique=False,
                              sqlite_where=PENDING, postgresql_where=PENDING)
        batch_op.create_index(batch_op.f('ix_lots_shop_id_expires_at'), ['shop_id', 'expires_at'], unique=False,
                              sqlite_where=EXPIRING, postgresql_where=EXPIRING)

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_shop_id_member_id_placed_at'))

    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transactions_shop_id_order_id'))
        batch_op.create_index(batch_op.f('ix_transactions_refers_to'), ['refers_to'], unique=False,
                              sqlite_where=REFERS, postgresql_where=REFERS)


def downgrade() -> None:
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transactions_refers_to'))
        batch_op.create_index(batch_op.f('ix_transactions_shop_id_order_id'), ['shop_id', 'order_id'], unique=False)

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_shop_id_member_id_placed_at'), ['shop_id', 'member_id', 'placed_at'],
                              unique=False)

    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lots_shop_id_expires_at'))
        batch_op.drop_index(batch_op.f('ix_lots_shop_id_available_at'))
        batch_op.create_index(batch_op.f('ix_lots_shop_id_expires_at'), ['shop_id', 'expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_lots_shop_id_status_available_at'), ['shop_id', 'status', 'available_at'],
                              unique=False)

    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entries_shop_id_member_id_account'), ['shop_id', 'member_id', 'account'],
                              unique=False)
