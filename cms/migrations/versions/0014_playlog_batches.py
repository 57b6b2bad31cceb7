"""the signed batches boards sent their plays in

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 16:35:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cms.models.types


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('playlog_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('screen_id', sa.Integer(), nullable=False),
    sa.Column('received_at', cms.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('signed_at', sa.BigInteger(), nullable=False),
    sa.Column('signature', sa.String(length=80), nullable=False),
    sa.Column('key_fingerprint', sa.String(length=16), nullable=False),
    sa.Column('body_sha256', sa.String(length=64), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('plays', sa.Integer(), nullable=False),
    sa.Column('stored', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['screen_id'], ['screens.id'], name=op.f('fk_playlog_batches_screen_id_screens')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_playlog_batches'))
    )
    op.create_index(op.f('ix_playlog_batches_screen_id'), 'playlog_batches', ['screen_id'], unique=False)
    with op.batch_alter_table('playback_events') as batch:
        batch.add_column(sa.Column('batch_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f('fk_playback_events_batch_id_playlog_batches'), 'playlog_batches', ['batch_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('playback_events') as batch:
        batch.drop_constraint(batch.f('fk_playback_events_batch_id_playlog_batches'), type_='foreignkey')
        batch.drop_column('batch_id')
    op.drop_index(op.f('ix_playlog_batches_screen_id'), table_name='playlog_batches')
    op.drop_table('playlog_batches')
