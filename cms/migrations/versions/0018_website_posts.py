"""website posts, and which media go on the public campaign pages

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 21:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cms.models.types


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('media_assets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('web_public', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('web_token', sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_media_assets_web_token'), ['web_token'])
    op.create_table('web_posts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('publish_at', cms.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('published_at', cms.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('rejection_reason', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', cms.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', cms.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', cms.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_web_posts_campaign_id_campaigns'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], name=op.f('fk_web_posts_changed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_web_posts_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_web_posts_reviewed_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_posts'))
    )
    with op.batch_alter_table('web_posts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_posts_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index('ix_web_posts_status_publish_at', ['status', 'publish_at'], unique=False)
    op.create_table('web_post_media',
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['media_assets.id'], name=op.f('fk_web_post_media_asset_id_media_assets'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['post_id'], ['web_posts.id'], name=op.f('fk_web_post_media_post_id_web_posts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('post_id', 'asset_id', name=op.f('pk_web_post_media'))
    )


def downgrade() -> None:
    op.drop_table('web_post_media')
    with op.batch_alter_table('web_posts', schema=None) as batch_op:
        batch_op.drop_index('ix_web_posts_status_publish_at')
        batch_op.drop_index(batch_op.f('ix_web_posts_campaign_id'))
    op.drop_table('web_posts')
    with op.batch_alter_table('media_assets', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_media_assets_web_token'), type_='unique')
        batch_op.drop_column('web_token')
        batch_op.drop_column('web_public')
