"""board api: signing keys, playback events, board health

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 13:33:38.620657
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cms.models.types


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('board_health',
    sa.Column('screen_id', sa.Integer(), nullable=False),
    sa.Column('last_seen_at', cms.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('board_clock_at', cms.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_version', sa.Integer(), nullable=True),
    sa.Column('current_asset_id', sa.Integer(), nullable=True),
    sa.Column('last_play_at', cms.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('screenshot_key', sa.String(length=80), nullable=True),
    sa.Column('screenshot_requested_at', cms.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('screenshot_at', cms.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['screen_id'], ['screens.id'], name=op.f('fk_board_health_screen_id_screens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('screen_id', name=op.f('pk_board_health'))
    )
    op.create_table('playback_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('screen_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('asset_name', sa.String(length=300), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('campaign_title', sa.String(length=2000), nullable=False),
    sa.Column('screen_code', sa.String(length=40), nullable=False),
    sa.Column('screen_name', sa.String(length=200), nullable=False),
    sa.Column('manifest_version', sa.Integer(), nullable=False),
    sa.Column('started_at', cms.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', cms.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('frame_hash', sa.String(length=128), nullable=True),
    sa.Column('received_at', cms.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['screen_id'], ['screens.id'], name=op.f('fk_playback_events_screen_id_screens')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_playback_events')),
    sa.UniqueConstraint('screen_id', 'event_id', name='uq_playback_events_screen_event')
    )
    with op.batch_alter_table('playback_events', schema=None) as batch_op:
        batch_op.create_index('ix_playback_events_campaign_started', ['campaign_id', 'started_at'], unique=False)
        batch_op.create_index('ix_playback_events_screen_started', ['screen_id', 'started_at'], unique=False)

    with op.batch_alter_table('screens', schema=None) as batch_op:
        # Boards registered before have no key until their secret is rotated.
        batch_op.add_column(sa.Column('signing_key', sa.String(length=64), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('screens', schema=None) as batch_op:
        batch_op.drop_column('signing_key')

    with op.batch_alter_table('playback_events', schema=None) as batch_op:
        batch_op.drop_index('ix_playback_events_screen_started')
        batch_op.drop_index('ix_playback_events_campaign_started')

    op.drop_table('playback_events')
    op.drop_table('board_health')
