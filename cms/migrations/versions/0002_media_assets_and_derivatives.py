"""media assets and derivatives

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cms.models.types


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('media_assets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('display_name', sa.String(length=255), nullable=False),
    sa.Column('storage_key', sa.String(length=80), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('mime', sa.String(length=40), nullable=False),
    sa.Column('format', sa.String(length=10), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('duration', sa.Float(), nullable=True),
    sa.Column('fps', sa.Float(), nullable=True),
    sa.Column('video_codec', sa.String(length=20), nullable=True),
    sa.Column('audio_codec', sa.String(length=20), nullable=True),
    sa.Column('banner', sa.JSON(), nullable=True),
    sa.Column('fit_mode', sa.String(length=10), nullable=False),
    sa.Column('focal_x', sa.Float(), nullable=False),
    sa.Column('focal_y', sa.Float(), nullable=False),
    sa.Column('background', sa.String(length=7), nullable=False),
    sa.Column('alt_text', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('rejection_reason', sa.Text(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_by_label', sa.String(length=254), nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', cms.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', cms.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', cms.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_media_assets_campaign_id_campaigns'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], name=op.f('fk_media_assets_changed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_media_assets_reviewed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_media_assets_uploaded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media_assets')),
    sa.UniqueConstraint('campaign_id', 'sha256', name='uq_media_assets_campaign_sha256')
    )
    with op.batch_alter_table('media_assets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_media_assets_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index('ix_media_assets_status', ['status'], unique=False)

    op.create_table('media_derivatives',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('profile_key', sa.String(length=40), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('storage_key', sa.String(length=80), nullable=True),
    sa.Column('preview_key', sa.String(length=80), nullable=True),
    sa.Column('notes', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('claimed_at', cms.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', cms.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['media_assets.id'], name=op.f('fk_media_derivatives_asset_id_media_assets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media_derivatives')),
    sa.UniqueConstraint('asset_id', 'kind', 'profile_key', name='uq_media_derivatives_asset_kind_profile')
    )
    with op.batch_alter_table('media_derivatives', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_media_derivatives_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index('ix_media_derivatives_state', ['state', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('media_derivatives', schema=None) as batch_op:
        batch_op.drop_index('ix_media_derivatives_state')
        batch_op.drop_index(batch_op.f('ix_media_derivatives_asset_id'))

    op.drop_table('media_derivatives')
    with op.batch_alter_table('media_assets', schema=None) as batch_op:
        batch_op.drop_index('ix_media_assets_status')
        batch_op.drop_index(batch_op.f('ix_media_assets_campaign_id'))

    op.drop_table('media_assets')
