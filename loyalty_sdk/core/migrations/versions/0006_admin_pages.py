"""The admin pages: signed-in sessions and the audit of every admin action.

- admin_sessions: one row per signed-in browser, keyed by the SHA-256 digest of its cookie
  (the cookie itself is never stored), with who signed in, the shop shown, the CSRF token and
  when it expires. Signing out deletes the row.
- admin_audit: who (API key id, admin key or Shopify user) did what, when, in which shop,
  with the details.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('admin_sessions',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('shop_id', sa.String(length=255), nullable=False),
    sa.Column('all_shops', sa.Boolean(), nullable=False),
    sa.Column('scope', sa.String(length=8), nullable=False),
    sa.Column('key_id', ID, nullable=True),
    sa.Column('key_check', sa.String(length=64), nullable=True),
    sa.Column('csrf', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['key_id'], ['api_keys.id'], name=op.f('fk_admin_sessions_key_id_api_keys')),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_admin_sessions'))
    )
    op.create_index(op.f('ix_admin_sessions_expires_at'), 'admin_sessions', ['expires_at'], unique=False)
    op.create_table('admin_audit',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.String(length=255), nullable=True),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_audit'))
    )
    op.create_index(op.f('ix_admin_audit_shop_id_id'), 'admin_audit', ['shop_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_admin_audit_shop_id_id'), table_name='admin_audit')
    op.drop_table('admin_audit')
    op.drop_index(op.f('ix_admin_sessions_expires_at'), table_name='admin_sessions')
    op.drop_table('admin_sessions')
