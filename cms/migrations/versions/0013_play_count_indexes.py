"""play counts indexed by campaign and day, as the acceptance report asks for them

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 16:40:00
"""
from __future__ import annotations

from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_play_daily_campaign_day', 'play_daily', ['campaign_id', 'day'], unique=False)
    op.create_index('ix_play_hourly_campaign_day', 'play_hourly', ['campaign_id', 'day'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_play_hourly_campaign_day', table_name='play_hourly')
    op.drop_index('ix_play_daily_campaign_day', table_name='play_daily')
