"""Playlists: ordered media of one campaign, looped on the boards."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cms.extensions import db
from cms.models.media import MediaAsset
from cms.models.plans import Campaign
from cms.models.types import UTCDateTime, utcnow

PLAYLIST_STATUSES = ("draft", "published")
IMAGE_SECONDS = 10.0  # how long a poster or banner stays on screen unless told otherwise


class Playlist(db.Model):
    __tablename__ = "playlists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="draft")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    campaign: Mapped[Campaign] = relationship()
    items: Mapped[list[PlaylistItem]] = relationship(
        back_populates="playlist", cascade="all, delete-orphan", order_by="PlaylistItem.position"
    )


class PlaylistItem(db.Model):
    __tablename__ = "playlist_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    playlist_id: Mapped[int] = mapped_column(ForeignKey("playlists.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    asset_id: Mapped[int] = mapped_column(ForeignKey("media_assets.id", ondelete="RESTRICT"), index=True)
    # None: the asset's own length (videos) or IMAGE_SECONDS (pictures).
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)

    playlist: Mapped[Playlist] = relationship(back_populates="items")
    asset: Mapped[MediaAsset] = relationship()

    @property
    def seconds(self) -> float:
        if self.duration is not None:
            return self.duration
        return self.asset.duration if self.asset.kind == "video" and self.asset.duration else IMAGE_SECONDS
