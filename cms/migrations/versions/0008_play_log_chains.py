"""play log chains

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 14:21:37.552141
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cms.models.types


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('playlog_chain_days',
    sa.Column('screen_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['screen_id'], ['screens.id'], name=op.f('fk_playlog_chain_days_screen_id_screens')),
    sa.PrimaryKeyConstraint('screen_id', 'day', name=op.f('pk_playlog_chain_days'))
    )
    op.create_table('playlog_chains',
    sa.Column('screen_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.Column('updated_at', cms.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['screen_id'], ['screens.id'], name=op.f('fk_playlog_chains_screen_id_screens')),
    sa.PrimaryKeyConstraint('screen_id', name=op.f('pk_playlog_chains'))
    )
    with op.batch_alter_table('playback_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chain_seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('chain_hash', sa.String(length=64), nullable=False, server_default=''))



def downgrade() -> None:
    with op.batch_alter_table('playback_events', schema=None) as batch_op:
        batch_op.drop_column('chain_hash')
        batch_op.drop_column('chain_seq')

    op.drop_table('playlog_chains')
    op.drop_table('playlog_chain_days')
