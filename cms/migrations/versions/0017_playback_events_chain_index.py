"""plays indexed by their place in the board's chain, not by campaign or start

Verification and archiving walk a board's plays in chain order; reports read the
kept counts (play_daily, play_hourly), never the plays by campaign or start time.
Each index is one more write for every stored play. Building the new index locks
the table against writes: plays sent meanwhile wait (boards retry), about a minute
for ten million plays.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 21:00:00
"""
from __future__ import annotations

from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('playback_events', schema=None) as batch_op:
        batch_op.drop_index('ix_playback_events_campaign_started')
        batch_op.drop_index('ix_playback_events_screen_started')
        batch_op.create_index('ix_playback_events_screen_chain', ['screen_id', 'chain_seq'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('playback_events', schema=None) as batch_op:
        batch_op.drop_index('ix_playback_events_screen_chain')
        batch_op.create_index('ix_playback_events_screen_started', ['screen_id', 'started_at'], unique=False)
        batch_op.create_index('ix_playback_events_campaign_started', ['campaign_id', 'started_at'], unique=False)
