"""scheduler: manifests, push attempts, board sync, fallback playlists

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 12:33:59.355292
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cms.models.types


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('board_sync',
    sa.Column('screen_id', sa.Integer(), nullable=False),
    sa.Column('input_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('latest_version', sa.Integer(), nullable=False),
    sa.Column('acknowledged_version', sa.Integer(), nullable=False),
    sa.Column('reported_version', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', cms.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_attempt_at', cms.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', cms.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_result', sa.String(length=10), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['screen_id'], ['screens.id'], name=op.f('fk_board_sync_screen_id_screens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('screen_id', name=op.f('pk_board_sync'))
    )
    with op.batch_alter_table('board_sync', schema=None) as batch_op:
        batch_op.create_index('ix_board_sync_due', ['next_attempt_at'], unique=False)

    op.create_table('manifests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('screen_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('valid_from', cms.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('valid_until', cms.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('boundaries', sa.JSON(), nullable=False),
    sa.Column('created_at', cms.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['screen_id'], ['screens.id'], name=op.f('fk_manifests_screen_id_screens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_manifests')),
    sa.UniqueConstraint('screen_id', 'version', name='uq_manifests_screen_version')
    )
    with op.batch_alter_table('manifests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_manifests_screen_id'), ['screen_id'], unique=False)

    op.create_table('push_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('screen_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('started_at', cms.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('latency_ms', sa.Float(), nullable=False),
    sa.Column('result', sa.String(length=10), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('scheduler', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['screen_id'], ['screens.id'], name=op.f('fk_push_attempts_screen_id_screens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_attempts'))
    )
    with op.batch_alter_table('push_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_push_attempts_screen_started', ['screen_id', 'started_at'], unique=False)

    with op.batch_alter_table('screens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fallback_playlist_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_screens_fallback_playlist_id_playlists'), 'playlists', ['fallback_playlist_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('screens', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_screens_fallback_playlist_id_playlists'), type_='foreignkey')
        batch_op.drop_column('fallback_playlist_id')

    with op.batch_alter_table('push_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_push_attempts_screen_started')

    op.drop_table('push_attempts')
    with op.batch_alter_table('manifests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manifests_screen_id'))

    op.drop_table('manifests')
    with op.batch_alter_table('board_sync', schema=None) as batch_op:
        batch_op.drop_index('ix_board_sync_due')

    op.drop_table('board_sync')
