"""playlog archives

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 09:12:04.118302
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cms.models.types


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('playlog_archives',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('screen_id', sa.Integer(), nullable=False),
    sa.Column('from_seq', sa.Integer(), nullable=False),
    sa.Column('to_seq', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.Column('created_at', cms.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=254), nullable=False),
    sa.ForeignKeyConstraint(['screen_id'], ['screens.id'], name=op.f('fk_playlog_archives_screen_id_screens')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_playlog_archives')),
    sa.UniqueConstraint('screen_id', 'from_seq', name='uq_playlog_archives_screen_from')
    )


def downgrade() -> None:
    op.drop_table('playlog_archives')
