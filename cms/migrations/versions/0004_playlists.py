"""playlists

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cms.models.types


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('playlists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('published_at', cms.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', cms.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', cms.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_playlists_campaign_id_campaigns'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_playlists'))
    )
    with op.batch_alter_table('playlists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_playlists_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('playlist_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('playlist_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('duration', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['asset_id'], ['media_assets.id'], name=op.f('fk_playlist_items_asset_id_media_assets'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['playlist_id'], ['playlists.id'], name=op.f('fk_playlist_items_playlist_id_playlists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_playlist_items'))
    )
    with op.batch_alter_table('playlist_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_playlist_items_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_playlist_items_playlist_id'), ['playlist_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('playlist_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_playlist_items_playlist_id'))
        batch_op.drop_index(batch_op.f('ix_playlist_items_asset_id'))

    op.drop_table('playlist_items')
    with op.batch_alter_table('playlists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_playlists_campaign_id'))

    op.drop_table('playlists')
