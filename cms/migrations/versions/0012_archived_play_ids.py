"""the event uuids of archived plays

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 16:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('archived_plays',
    sa.Column('screen_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('archive_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['archive_id'], ['playlog_archives.id'], name=op.f('fk_archived_plays_archive_id_playlog_archives')),
    sa.ForeignKeyConstraint(['screen_id'], ['screens.id'], name=op.f('fk_archived_plays_screen_id_screens')),
    sa.PrimaryKeyConstraint('screen_id', 'event_id', name=op.f('pk_archived_plays'))
    )


def downgrade() -> None:
    op.drop_table('archived_plays')
