"""Schedule rules: which playlist plays on which boards, when and how often."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cms.extensions import db
from cms.models.playlists import Playlist
from cms.models.types import UTCDateTime, utcnow


class ScheduleRule(db.Model):
    __tablename__ = "schedule_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    playlist_id: Mapped[int] = mapped_column(ForeignKey("playlists.id", ondelete="CASCADE"), index=True)
    board_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    # None: the campaign's period.
    date_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    date_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    weekdays: Mapped[list[int]] = mapped_column(JSON, default=lambda: [0, 1, 2, 3, 4, 5, 6])
    windows: Mapped[list[list[str]]] = mapped_column(JSON, default=list)  # [["07:00", "09:00"], ...]; empty: all day
    priority: Mapped[int] = mapped_column(Integer, default=0)
    plays_per_hour: Mapped[int | None] = mapped_column(Integer, nullable=True)
    share_of_voice: Mapped[float | None] = mapped_column(Float, nullable=True)
    interrupt: Mapped[bool] = mapped_column(Boolean, default=False)
    # Interrupts (storm, flood warnings) pre-empt everything: they wait for an approver.
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    playlist: Mapped[Playlist] = relationship()
