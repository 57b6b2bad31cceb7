"""schedule rules

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cms.models.types


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('schedule_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('playlist_id', sa.Integer(), nullable=False),
    sa.Column('board_ids', sa.JSON(), nullable=False),
    sa.Column('groups', sa.JSON(), nullable=False),
    sa.Column('date_from', sa.Date(), nullable=True),
    sa.Column('date_to', sa.Date(), nullable=True),
    sa.Column('weekdays', sa.JSON(), nullable=False),
    sa.Column('windows', sa.JSON(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('plays_per_hour', sa.Integer(), nullable=True),
    sa.Column('share_of_voice', sa.Float(), nullable=True),
    sa.Column('interrupt', sa.Boolean(), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', cms.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('created_at', cms.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_schedule_rules_approved_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_schedule_rules_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['playlist_id'], ['playlists.id'], name=op.f('fk_schedule_rules_playlist_id_playlists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_rules'))
    )
    with op.batch_alter_table('schedule_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schedule_rules_playlist_id'), ['playlist_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('schedule_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schedule_rules_playlist_id'))

    op.drop_table('schedule_rules')
