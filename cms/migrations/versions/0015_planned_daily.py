"""planned plays per board, campaign and day; planned hours indexed by board and day

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 16:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('planned_daily',
    sa.Column('screen_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('plays', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['screen_id'], ['screens.id'], name=op.f('fk_planned_daily_screen_id_screens')),
    sa.PrimaryKeyConstraint('screen_id', 'campaign_id', 'day', name=op.f('pk_planned_daily'))
    )
    op.create_index('ix_planned_daily_campaign_day', 'planned_daily', ['campaign_id', 'day'], unique=False)
    op.create_index('ix_planned_hourly_screen_day', 'planned_hourly', ['screen_id', 'day'], unique=False)
    op.execute("INSERT INTO planned_daily (screen_id, campaign_id, day, plays, seconds) "
               "SELECT screen_id, campaign_id, day, sum(plays), sum(seconds) FROM planned_hourly "
               "GROUP BY screen_id, campaign_id, day")


def downgrade() -> None:
    op.drop_index('ix_planned_hourly_screen_day', table_name='planned_hourly')
    op.drop_index('ix_planned_daily_campaign_day', table_name='planned_daily')
    op.drop_table('planned_daily')
