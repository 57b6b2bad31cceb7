"""What the department's website shows: posts about a campaign, and which approved
media go on the campaign's public page (cms.services.website decides what is public)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cms.extensions import db
from cms.models.media import MediaAsset
from cms.models.plans import Campaign
from cms.models.types import UTCDateTime, utcnow

POST_STATUSES = ("draft", "pending", "approved", "rejected", "published", "unpublished")


class WebPost(db.Model):
    """A post for the website about one campaign: prepared by an editor, approved by an
    approver, then published (now, or by the scheduler at `publish_at`) and perhaps taken down."""

    __tablename__ = "web_posts"
    __table_args__ = (Index("ix_web_posts_status_publish_at", "status", "publish_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="draft")
    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # when approved: goes public then
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # first went public
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    # Whoever last changed the words or media: they may not approve it either.
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    campaign: Mapped[Campaign] = relationship()
    media_links: Mapped[list[WebPostMedia]] = relationship(
        back_populates="post", cascade="all, delete-orphan", order_by="WebPostMedia.position")


class WebPostMedia(db.Model):
    __tablename__ = "web_post_media"

    post_id: Mapped[int] = mapped_column(ForeignKey("web_posts.id", ondelete="CASCADE"), primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("media_assets.id", ondelete="RESTRICT"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    post: Mapped[WebPost] = relationship(back_populates="media_links")
    asset: Mapped[MediaAsset] = relationship()


class PortalPost(db.Model):
    """A post as pushed to a portal through a publisher (cms.publishers): the portal's id and
    link for it, what was last sent (a digest), and the last failure with its next try."""

    __tablename__ = "portal_posts"
    __table_args__ = (UniqueConstraint("portal", "post_id", name="uq_portal_posts_portal_post"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    portal: Mapped[str] = mapped_column(String(40))  # the publisher kind, e.g. "wordpress"
    post_id: Mapped[int] = mapped_column(ForeignKey("web_posts.id", ondelete="RESTRICT"), index=True)
    remote_id: Mapped[str] = mapped_column(String(64), default="")
    remote_url: Mapped[str] = mapped_column(String(1000), default="")
    state: Mapped[str] = mapped_column(String(12), default="waiting")  # waiting | published | withdrawn
    digest: Mapped[str] = mapped_column(String(64), default="")  # of what the portal shows now
    asset_ids: Mapped[str] = mapped_column(Text, default="")  # the media it shows there, "3,7"
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # failures in a row
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    post: Mapped[WebPost] = relationship()


class PortalMedia(db.Model):
    """A media file uploaded, or being uploaded, to a portal: removed from it as soon as
    nothing published shows it."""

    __tablename__ = "portal_media"
    __table_args__ = (UniqueConstraint("portal", "asset_id", "variant", name="uq_portal_media_portal_asset_variant"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    portal: Mapped[str] = mapped_column(String(40))
    # RESTRICT: a copy on a portal is never forgotten while it is there.
    asset_id: Mapped[int] = mapped_column(ForeignKey("media_assets.id", ondelete="RESTRICT"), index=True)
    variant: Mapped[str] = mapped_column(String(20))  # "still" or "video"
    sha256: Mapped[str] = mapped_column(String(64))  # of the asset's file when uploaded
    alt_text: Mapped[str] = mapped_column(Text, default="")
    # Recorded before the upload starts: an upload whose answer was lost is found by this name.
    file_name: Mapped[str] = mapped_column(String(200))
    remote_id: Mapped[str] = mapped_column(String(64), default="")  # "" while the upload is unconfirmed
    remote_url: Mapped[str] = mapped_column(String(1000), default="")
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
