"""planned plays per board, campaign and hour, and the hours a plan covers

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 16:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cms.models.types


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('planned_hourly',
    sa.Column('screen_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('hour_start', cms.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('hour', sa.Integer(), nullable=False),
    sa.Column('plays', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['screen_id'], ['screens.id'], name=op.f('fk_planned_hourly_screen_id_screens')),
    sa.PrimaryKeyConstraint('screen_id', 'campaign_id', 'hour_start', name=op.f('pk_planned_hourly'))
    )
    op.create_index('ix_planned_hourly_campaign_day', 'planned_hourly', ['campaign_id', 'day'], unique=False)
    op.create_table('plan_hours',
    sa.Column('screen_id', sa.Integer(), nullable=False),
    sa.Column('hour_start', cms.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('hour', sa.Integer(), nullable=False),
    sa.Column('lit_seconds', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['screen_id'], ['screens.id'], name=op.f('fk_plan_hours_screen_id_screens')),
    sa.PrimaryKeyConstraint('screen_id', 'hour_start', name=op.f('pk_plan_hours'))
    )
    op.create_index(op.f('ix_plan_hours_day'), 'plan_hours', ['day'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_plan_hours_day'), table_name='plan_hours')
    op.drop_table('plan_hours')
    op.drop_index('ix_planned_hourly_campaign_day', table_name='planned_hourly')
    op.drop_table('planned_hourly')
