"""board sync: when a board's controller changed

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 10:29:04
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cms.models.types


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('board_sync', schema=None) as batch_op:
        batch_op.add_column(sa.Column('controller_changed_at', cms.models.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('board_sync', schema=None) as batch_op:
        batch_op.drop_column('controller_changed_at')
