"""Boards (screens): the outdoor Panoled LED boards and how to reach them."""
from __future__ import annotations

from datetime import datetime, time
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cms.extensions import db
from cms.models.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from cms.models.playlists import Playlist


class Screen(db.Model):
    __tablename__ = "screens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(40), unique=True)
    address: Mapped[str] = mapped_column(Text, default="")
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    group_name: Mapped[str] = mapped_column(String(200), default="")  # district or site
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    pixel_pitch_mm: Mapped[float] = mapped_column(Float, default=10.0)
    viewing_distance_m: Mapped[float] = mapped_column(Float, default=50.0)
    # Dark outside these local times; closes_at <= opens_at means the hours cross midnight.
    opens_at: Mapped[time] = mapped_column(Time, default=time(5, 30))
    closes_at: Mapped[time] = mapped_column(Time, default=time(22, 0))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Ho_Chi_Minh")
    adapter_kind: Mapped[str] = mapped_column(String(40))
    adapter_options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # sha256 of the board's secret, which is shown once when made or rotated.
    secret_hash: Mapped[str] = mapped_column(String(64))
    secret_rotated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # HMAC key (hex) derived from the secret, for signatures both ways; "" for a board
    # registered before signatures existed, which must have its secret rotated.
    signing_key: Mapped[str] = mapped_column(String(64), default="")
    # Plays whenever no rule has anything for the board (None: the board shows nothing).
    fallback_playlist_id: Mapped[int | None] = mapped_column(
        ForeignKey("playlists.id", ondelete="SET NULL"), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    fallback_playlist: Mapped[Playlist | None] = relationship()
