"""Orders of non-members, for analytics that compare members with everyone else.

- non_member_orders: an order of a customer who was not a member when placing it (the store's
  customer id, or a guest's e-mail, in ``customer``), unique per shop on the order id, indexed
  by when it was placed. It earns nothing and touches no balance.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('non_member_orders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.String(length=255), nullable=False),
    sa.Column('order_id', sa.String(length=255), nullable=False),
    sa.Column('customer', sa.String(length=320), nullable=False),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('gross_minor', sa.BigInteger(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_non_member_orders')),
    sa.UniqueConstraint('shop_id', 'order_id', name=op.f('uq_non_member_orders_shop_id_order_id'))
    )
    op.create_index(op.f('ix_non_member_orders_shop_id_placed_at'), 'non_member_orders', ['shop_id', 'placed_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_non_member_orders_shop_id_placed_at'), table_name='non_member_orders')
    op.drop_table('non_member_orders')
