"""Media assets of a campaign (videoclips, posters, banners) and their derivatives."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cms.extensions import db
from cms.models.accounts import User
from cms.models.plans import Campaign
from cms.models.types import UTCDateTime, utcnow

ASSET_KINDS = ("video", "poster", "banner")
ASSET_STATUSES = ("draft", "pending", "approved", "rejected", "archived")
DERIVATIVE_KINDS = ("thumbnail", "rendition")
DERIVATIVE_STATES = ("pending", "running", "done", "failed")


class MediaAsset(db.Model):
    __tablename__ = "media_assets"
    __table_args__ = (
        # The same file twice in a campaign is one asset.
        UniqueConstraint("campaign_id", "sha256", name="uq_media_assets_campaign_sha256"),
        Index("ix_media_assets_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    display_name: Mapped[str] = mapped_column(String(255))
    # Generated storage key of the original; None for a generated text banner.
    storage_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    mime: Mapped[str] = mapped_column(String(40), default="")
    format: Mapped[str] = mapped_column(String(10), default="")
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    fps: Mapped[float | None] = mapped_column(Float, nullable=True)
    video_codec: Mapped[str | None] = mapped_column(String(20), nullable=True)
    audio_codec: Mapped[str | None] = mapped_column(String(20), nullable=True)
    banner: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    fit_mode: Mapped[str] = mapped_column(String(10), default="contain")
    focal_x: Mapped[float] = mapped_column(Float, default=0.5)
    focal_y: Mapped[float] = mapped_column(Float, default=0.5)
    background: Mapped[str] = mapped_column(String(7), default="#000000")
    alt_text: Mapped[str] = mapped_column(Text, default="")
    # Shown on the campaign's public page (while approved and described: cms.services.website).
    web_public: Mapped[bool] = mapped_column(Boolean, default=False)
    # The unguessable name its public copies are served under, made when it first goes public.
    web_token: Mapped[str | None] = mapped_column(String(32), nullable=True, unique=True)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    uploaded_by_label: Mapped[str] = mapped_column(String(254), default="")
    # Whoever last changed what boards would show (file or fit): they may not approve it either.
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    campaign: Mapped[Campaign] = relationship()
    uploaded_by: Mapped[User | None] = relationship(foreign_keys=[uploaded_by_id])
    changed_by: Mapped[User | None] = relationship(foreign_keys=[changed_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    derivatives: Mapped[list[MediaDerivative]] = relationship(
        back_populates="asset", cascade="all, delete-orphan", order_by="MediaDerivative.id"
    )

    def derivative(self, kind: str, profile_key: str = "") -> MediaDerivative | None:
        return next((d for d in self.derivatives if d.kind == kind and d.profile_key == profile_key), None)


class MediaDerivative(db.Model):
    """A thumbnail, or a rendition for one board size with its LED preview.

    Made outside the request by the derivative workers; the state lives here so
    a restart picks up where it stopped.
    """

    __tablename__ = "media_derivatives"
    __table_args__ = (
        UniqueConstraint("asset_id", "kind", "profile_key", name="uq_media_derivatives_asset_kind_profile"),
        Index("ix_media_derivatives_state", "state", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("media_assets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    profile_key: Mapped[str] = mapped_column(String(40), default="")
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    storage_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    preview_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    notes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped whenever the work is queued again (new file, new crop), so a worker that
    # finishes an outdated job does not overwrite the newer request.
    generation: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    asset: Mapped[MediaAsset] = relationship(back_populates="derivatives")


def revision_of(asset: MediaAsset) -> str:
    """What an approver looked at: the file and the fit. Approving a different revision is refused."""
    import hashlib

    seen = f"{asset.sha256}|{asset.fit_mode}|{asset.focal_x:.4f}|{asset.focal_y:.4f}|{asset.background.upper()}"
    return hashlib.sha256(seen.encode("utf-8")).hexdigest()[:16]
