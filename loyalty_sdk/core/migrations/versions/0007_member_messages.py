"""Member messages: the sent log and each shop's cursor over the outbox.

- member_messages: one row per message and channel (unique on shop, channel and message key,
  so nothing is sent twice), with its status (pending, sent, skipped, dead), attempts and
  when it is tried next. ``ix_member_messages_due`` is partial: only pending rows are queued.
- message_cursors: per shop, the outbox event up to which messages have been made.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
DUE = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_table('member_messages',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.String(length=255), nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=False),
    sa.Column('message_key', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('member_id', ID, nullable=False),
    sa.Column('outbox_id', ID, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_messages_member_id_members')),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_member_messages_outbox_id_outbox')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_messages')),
    sa.UniqueConstraint('shop_id', 'channel', 'message_key',
                        name=op.f('uq_member_messages_shop_id_channel_message_key'))
    )
    op.create_index('ix_member_messages_due', 'member_messages', ['shop_id', 'next_attempt_at'], unique=False,
                    sqlite_where=DUE, postgresql_where=DUE)
    op.create_table('message_cursors',
    sa.Column('shop_id', sa.String(length=255), nullable=False),
    sa.Column('last_outbox_id', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('shop_id', name=op.f('pk_message_cursors'))
    )


def downgrade() -> None:
    op.drop_table('message_cursors')
    op.drop_index('ix_member_messages_due', table_name='member_messages', sqlite_where=DUE, postgresql_where=DUE)
    op.drop_table('member_messages')
