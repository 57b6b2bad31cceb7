"""how far each board's chain was last verified

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 16:50:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cms.models.types


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('playlog_checks',
    sa.Column('screen_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('chain_hash', sa.String(length=64), nullable=False),
    sa.Column('checked_at', cms.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('whole_checked_at', cms.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['screen_id'], ['screens.id'], name=op.f('fk_playlog_checks_screen_id_screens')),
    sa.PrimaryKeyConstraint('screen_id', name=op.f('pk_playlog_checks'))
    )


def downgrade() -> None:
    op.drop_table('playlog_checks')
