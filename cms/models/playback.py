"""What boards report back: each complete play (playback evidence) and each board's health.

A PlaybackEvent keeps snapshots of the names it refers to (asset, campaign, board)
and no foreign key to the asset or campaign, so the evidence survives later edits
and deletions. A board reports each play with its own uuid; (board, uuid) is
unique, which is what makes a batch sent twice store each play once.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cms.extensions import db
from cms.models.types import UTCDateTime, utcnow

PLAY_FLAGS = ("clock_skew", "unknown_asset", "unknown_manifest", "not_in_manifest")


class PlaybackEvent(db.Model):
    __tablename__ = "playback_events"
    __table_args__ = (
        UniqueConstraint("screen_id", "event_id", name="uq_playback_events_screen_event"),
        # Verification and archiving walk a board's chain; reports read the kept counts.
        Index("ix_playback_events_screen_chain", "screen_id", "chain_seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    screen_id: Mapped[int] = mapped_column(ForeignKey("screens.id"))
    event_id: Mapped[str] = mapped_column(String(36))  # the board's uuid for the play, canonical form
    asset_id: Mapped[int] = mapped_column(Integer)
    asset_name: Mapped[str] = mapped_column(String(300), default="")
    campaign_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    campaign_title: Mapped[str] = mapped_column(String(2000), default="")
    screen_code: Mapped[str] = mapped_column(String(40), default="")
    screen_name: Mapped[str] = mapped_column(String(200), default="")
    manifest_version: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    frame_hash: Mapped[str | None] = mapped_column(String(128), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)  # out of PLAY_FLAGS
    # Place in the board's append-only chain and the chain's hash after this play
    # (cms.services.playlog_chain); None for a row that did not come in through ingestion.
    chain_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    chain_hash: Mapped[str] = mapped_column(String(64), default="")
    # The signed batch the board sent it in (None for rows that did not come over the board API).
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("playlog_batches.id"), nullable=True)


class PlaylogBatch(db.Model):
    """A batch of plays exactly as the board sent and signed it: the board's own evidence,
    kept beside ours (the chain). Kept when at least one of its plays was new."""

    __tablename__ = "playlog_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    screen_id: Mapped[int] = mapped_column(ForeignKey("screens.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    signed_at: Mapped[int] = mapped_column(BigInteger)  # the X-Panoled-Timestamp the board signed (Unix seconds)
    signature: Mapped[str] = mapped_column(String(80))  # "sha256=<hex>" as sent
    key_fingerprint: Mapped[str] = mapped_column(String(16))  # which board key signed it (the key rotates with the secret)
    body_sha256: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)  # the request body, gzip-compressed
    plays: Mapped[int] = mapped_column(Integer)  # plays in the body
    stored: Mapped[int] = mapped_column(Integer)  # of which new


class PlaylogChain(db.Model):
    """The head of each board's chain of plays: how many, and the hash after the last."""

    __tablename__ = "playlog_chains"

    screen_id: Mapped[int] = mapped_column(ForeignKey("screens.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    head_hash: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlaylogCheck(db.Model):
    """How far each board's chain was last verified, entry by entry, and when it was last
    verified whole: a report re-checks from here, a full verification from the start."""

    __tablename__ = "playlog_checks"

    screen_id: Mapped[int] = mapped_column(ForeignKey("screens.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    chain_hash: Mapped[str] = mapped_column(String(64))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    whole_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PlaylogChainDay(db.Model):
    """Each board's chain head at the end of each day (UTC) it received plays: recorded
    evidence that later entries cannot rewrite."""

    __tablename__ = "playlog_chain_days"

    screen_id: Mapped[int] = mapped_column(ForeignKey("screens.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))


class PlaylogArchive(db.Model):
    """A run of a board's chain (from_seq..to_seq) moved out of the database into a compressed
    file under the archive folder; the chain online continues from last_hash."""

    __tablename__ = "playlog_archives"
    __table_args__ = (UniqueConstraint("screen_id", "from_seq", name="uq_playlog_archives_screen_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    screen_id: Mapped[int] = mapped_column(ForeignKey("screens.id"))
    from_seq: Mapped[int] = mapped_column(Integer)
    to_seq: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64))  # the chain hash just before from_seq
    last_hash: Mapped[str] = mapped_column(String(64))  # the chain hash at to_seq
    file_name: Mapped[str] = mapped_column(String(200))  # relative to the archive folder
    file_sha256: Mapped[str] = mapped_column(String(64))
    bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(254))


class ArchivedPlay(db.Model):
    """The event uuid of each archived play, kept online so a board sending it again is
    answered "duplicate" and nothing is stored twice (exactly once outlives archiving)."""

    __tablename__ = "archived_plays"

    screen_id: Mapped[int] = mapped_column(ForeignKey("screens.id"), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    archive_id: Mapped[int] = mapped_column(ForeignKey("playlog_archives.id"))


class BoardHealth(db.Model):
    """What the board last told about itself through its heartbeat (or, for a board that cannot
    call in, its answers to the scheduler's status polls), and the screenshot asked of it."""

    __tablename__ = "board_health"

    screen_id: Mapped[int] = mapped_column(ForeignKey("screens.id", ondelete="CASCADE"), primary_key=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    board_clock_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # the board's own time then
    heartbeat_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    current_asset_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_play_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # end of the newest play reported
    screenshot_key: Mapped[str | None] = mapped_column(String(80), nullable=True)  # in the media storage
    screenshot_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    screenshot_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
