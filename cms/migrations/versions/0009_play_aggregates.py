"""play aggregates

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 14:28:21.721750
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cms.models.types


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('play_daily',
    sa.Column('screen_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('plays', sa.Integer(), nullable=False),
    sa.Column('airtime_seconds', sa.Float(), nullable=False),
    sa.Column('first_start', cms.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_end', cms.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['screen_id'], ['screens.id'], name=op.f('fk_play_daily_screen_id_screens')),
    sa.PrimaryKeyConstraint('screen_id', 'campaign_id', 'day', name=op.f('pk_play_daily'))
    )
    op.create_table('play_hourly',
    sa.Column('screen_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('hour', sa.Integer(), nullable=False),
    sa.Column('plays', sa.Integer(), nullable=False),
    sa.Column('airtime_seconds', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['screen_id'], ['screens.id'], name=op.f('fk_play_hourly_screen_id_screens')),
    sa.PrimaryKeyConstraint('screen_id', 'campaign_id', 'day', 'hour', name=op.f('pk_play_hourly'))
    )


def downgrade() -> None:
    op.drop_table('play_hourly')
    op.drop_table('play_daily')
