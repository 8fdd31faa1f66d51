"""The server's tables: the durable webhook inbox, REST API keys, and leases for jobs.

- inbox: each accepted delivery (raw body, headers, shop, topic), unique on the platform's
  delivery identity, with its processing state; ``ix_inbox_ready`` is the workers' queue.
- api_keys: bearer keys as SHA-256 digests, each scoped to one shop.
- leases: which process runs a named scheduled job, until when.
- outbox.next_attempt_at: notification hooks that failed are retried with backoff.
- redemptions.used_at, used_order_id: a reward code seen again on an order.
- members.marketing_consent: what the store last said about marketing e-mail.
- webhook_endpoints, webhook_deliveries: outbound webhooks per shop, and each outbox event's
  delivery to each endpoint, retried with backoff.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 23:33:19.376605
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('marketing_consent', sa.String(length=32), nullable=True))
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('used_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('used_order_id', sa.String(length=255), nullable=True))
        batch_op.create_index(batch_op.f('ix_redemptions_shop_id_code'), ['shop_id', 'code'], unique=False)

    op.create_table('inbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('shop_id', sa.String(length=255), nullable=False),
    sa.Column('topic', sa.String(length=128), nullable=False),
    sa.Column('dedup_key', sa.String(length=255), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('outcome', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox')),
    sa.UniqueConstraint('platform', 'shop_id', 'dedup_key', name=op.f('uq_inbox_platform_shop_id_dedup_key'))
    )
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.create_index('ix_inbox_ready', ['next_attempt_at'], unique=False, sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))
        batch_op.create_index(batch_op.f('ix_inbox_shop_id_status_id'), ['shop_id', 'status', 'id'], unique=False)

    op.create_table('leases',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_leases'))
    )
    op.create_table('api_keys',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.String(length=255), nullable=False),
    sa.Column('scope', sa.String(length=8), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_api_keys_shop_id_shops')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('digest', name=op.f('uq_api_keys_digest'))
    )
    op.create_table('webhook_endpoints',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.String(length=255), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('kinds', sa.JSON(), nullable=False),
    sa.Column('last_outbox_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_webhook_endpoints_shop_id_shops')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints'))
    )
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_endpoints_shop_id'), ['shop_id'], unique=False)

    op.create_table('webhook_deliveries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('endpoint_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('outbox_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'], name=op.f('fk_webhook_deliveries_endpoint_id_webhook_endpoints')),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_webhook_deliveries_outbox_id_outbox')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    sa.UniqueConstraint('endpoint_id', 'outbox_id', name=op.f('uq_webhook_deliveries_endpoint_id_outbox_id'))
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_deliveries_due', ['next_attempt_at'], unique=False, sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))


def downgrade() -> None:
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_due', sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))

    op.drop_table('webhook_deliveries')
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_endpoints_shop_id'))

    op.drop_table('webhook_endpoints')
    op.drop_table('api_keys')
    op.drop_table('leases')
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_shop_id_status_id'))
        batch_op.drop_index('ix_inbox_ready', sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))

    op.drop_table('inbox')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('next_attempt_at')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('marketing_consent')
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_redemptions_shop_id_code'))
        batch_op.drop_column('used_order_id')
        batch_op.drop_column('used_at')
