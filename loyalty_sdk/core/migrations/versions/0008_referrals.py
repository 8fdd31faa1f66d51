"""Referrals: members' codes, the friends who used them, and payer digests.

- referral_codes: one code per member, unique per shop.
- referrals: one row per friend who signed up with a code, with its status (invited,
  qualified, rewarded, void, refused) and reason. ``uq_referrals_open_referee`` is partial: a
  friend is referred once, but refused attempts are all kept. ``ix_referrals_due`` is the
  settle job's queue (qualified referrals by the end of their order's return window).
- payer_traits: digests of the payment methods and addresses seen on each order.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 06:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
STAMP = sa.DateTime(timezone=True)
OPEN = sa.text("status != 'refused'")
QUALIFIED = sa.text("status = 'qualified'")


def upgrade() -> None:
    op.create_table('referral_codes',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.String(length=255), nullable=False),
    sa.Column('member_id', ID, nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('created_at', STAMP, nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_referral_codes_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_codes')),
    sa.UniqueConstraint('shop_id', 'code', name=op.f('uq_referral_codes_shop_id_code')),
    sa.UniqueConstraint('shop_id', 'member_id', name=op.f('uq_referral_codes_shop_id_member_id'))
    )
    op.create_table('referrals',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.String(length=255), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('referrer_id', ID, nullable=False),
    sa.Column('referee_id', ID, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('referred_at', STAMP, nullable=False),
    sa.Column('order_id', sa.String(length=255), nullable=True),
    sa.Column('qualified_at', STAMP, nullable=True),
    sa.Column('due_at', STAMP, nullable=True),
    sa.Column('settled_at', STAMP, nullable=True),
    sa.Column('revenue_minor', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('referee_points', sa.BigInteger(), nullable=False),
    sa.Column('referrer_points', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['referee_id'], ['members.id'], name=op.f('fk_referrals_referee_id_members')),
    sa.ForeignKeyConstraint(['referrer_id'], ['members.id'], name=op.f('fk_referrals_referrer_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals'))
    )
    op.create_index(op.f('ix_referrals_shop_id_referrer_id'), 'referrals', ['shop_id', 'referrer_id'], unique=False)
    op.create_index('uq_referrals_open_referee', 'referrals', ['shop_id', 'referee_id'], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_index('ix_referrals_due', 'referrals', ['shop_id', 'due_at'], unique=False,
                    sqlite_where=QUALIFIED, postgresql_where=QUALIFIED)
    op.create_table('payer_traits',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.String(length=255), nullable=False),
    sa.Column('member_id', ID, nullable=False),
    sa.Column('order_id', sa.String(length=255), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_payer_traits_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payer_traits')),
    sa.UniqueConstraint('shop_id', 'order_id', 'digest', name=op.f('uq_payer_traits_shop_id_order_id_digest'))
    )
    op.create_index(op.f('ix_payer_traits_shop_id_member_id'), 'payer_traits', ['shop_id', 'member_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_payer_traits_shop_id_member_id'), table_name='payer_traits')
    op.drop_table('payer_traits')
    op.drop_index('ix_referrals_due', table_name='referrals', sqlite_where=QUALIFIED, postgresql_where=QUALIFIED)
    op.drop_index('uq_referrals_open_referee', table_name='referrals', sqlite_where=OPEN, postgresql_where=OPEN)
    op.drop_index(op.f('ix_referrals_shop_id_referrer_id'), table_name='referrals')
    op.drop_table('referrals')
    op.drop_table('referral_codes')
