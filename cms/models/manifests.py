"""What each board has been given: versioned manifests, every push attempt, and
the scheduler's per-board state (what is due, what the board acknowledged)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cms.extensions import db
from cms.models.types import UTCDateTime, utcnow

PUSH_RESULTS = ("ok", "stale", "retry", "timeout", "rejected")


class Manifest(db.Model):
    """One version of what a board should play from `valid_from` to `valid_until`.

    Versions strictly increase per board; `content_hash` covers everything but the
    version and the time it was made, so an unchanged schedule makes no new version.
    `boundaries` are the instants (Unix seconds) where what the board shows changes
    from one rule or playlist to another: the scheduler reconciles at them.
    """

    __tablename__ = "manifests"
    __table_args__ = (UniqueConstraint("screen_id", "version", name="uq_manifests_screen_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    screen_id: Mapped[int] = mapped_column(ForeignKey("screens.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    boundaries: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PushAttempt(db.Model):
    """One attempt to hand a manifest to a board, successful or not."""

    __tablename__ = "push_attempts"
    __table_args__ = (Index("ix_push_attempts_screen_started", "screen_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    screen_id: Mapped[int] = mapped_column(ForeignKey("screens.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    result: Mapped[str] = mapped_column(String(10))
    error: Mapped[str] = mapped_column(Text, default="")
    scheduler: Mapped[str] = mapped_column(String(120), default="")  # which scheduler process pushed


class BoardSync(db.Model):
    """Where each board stands: its newest manifest, what it acknowledged, when to try again."""

    __tablename__ = "board_sync"
    __table_args__ = (Index("ix_board_sync_due", "next_attempt_at"),)

    screen_id: Mapped[int] = mapped_column(ForeignKey("screens.id", ondelete="CASCADE"), primary_key=True)
    # What the newest manifest was made from; unchanged inputs need no new manifest.
    input_fingerprint: Mapped[str] = mapped_column(String(64), default="")
    latest_version: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged_version: Mapped[int] = mapped_column(Integer, default=0)
    # The newest version the board itself reported; a new manifest is numbered above it.
    reported_version: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_result: Mapped[str] = mapped_column(String(10), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    # When the board's kind or options last changed (a new controller): it has acknowledged
    # nothing there yet, and its "not taken" alert counts from then, not from the manifest.
    controller_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
