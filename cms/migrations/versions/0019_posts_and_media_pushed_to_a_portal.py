"""posts and media pushed to a portal

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 22:49:43
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cms.models.types


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('portal_media',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('portal', sa.String(length=40), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('variant', sa.String(length=20), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('alt_text', sa.Text(), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('remote_id', sa.String(length=64), nullable=False),
    sa.Column('remote_url', sa.String(length=1000), nullable=False),
    sa.Column('uploaded_at', cms.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['media_assets.id'], name=op.f('fk_portal_media_asset_id_media_assets'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_media')),
    sa.UniqueConstraint('portal', 'asset_id', 'variant', name='uq_portal_media_portal_asset_variant')
    )
    with op.batch_alter_table('portal_media', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_media_asset_id'), ['asset_id'], unique=False)

    op.create_table('portal_posts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('portal', sa.String(length=40), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('remote_id', sa.String(length=64), nullable=False),
    sa.Column('remote_url', sa.String(length=1000), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('asset_ids', sa.Text(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('retry_at', cms.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('synced_at', cms.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['post_id'], ['web_posts.id'], name=op.f('fk_portal_posts_post_id_web_posts'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_posts')),
    sa.UniqueConstraint('portal', 'post_id', name='uq_portal_posts_portal_post')
    )
    with op.batch_alter_table('portal_posts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_posts_post_id'), ['post_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('portal_posts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_posts_post_id'))

    op.drop_table('portal_posts')
    with op.batch_alter_table('portal_media', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_media_asset_id'))

    op.drop_table('portal_media')
