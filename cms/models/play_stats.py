"""Play counts kept as plays are stored, so reports over millions of plays read a few rows.

One row per board, campaign and local day (and per local hour for charts), on the
board's own calendar (Screen.timezone) because acceptance is counted per local day.
A play counts on the day and hour its start falls in, whole, even when it runs past
midnight. Plays without a campaign are kept under campaign_id 0 (NO_CAMPAIGN) so the
key has no NULL in it. Plays flagged clock_skew are counted like the rest; the raw
plays keep the flag for a report to show or leave out.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from cms.extensions import db
from cms.models.types import UTCDateTime

NO_CAMPAIGN = 0


class PlayDaily(db.Model):
    __tablename__ = "play_daily"
    __table_args__ = (Index("ix_play_daily_campaign_day", "campaign_id", "day"),)  # reports ask by campaign and days

    screen_id: Mapped[int] = mapped_column(ForeignKey("screens.id"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # NO_CAMPAIGN for plays without one
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # the board's local date of the start
    plays: Mapped[int] = mapped_column(Integer, default=0)
    airtime_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    first_start: Mapped[datetime] = mapped_column(UTCDateTime)
    last_end: Mapped[datetime] = mapped_column(UTCDateTime)


class PlayHourly(db.Model):
    __tablename__ = "play_hourly"
    __table_args__ = (Index("ix_play_hourly_campaign_day", "campaign_id", "day"),)

    screen_id: Mapped[int] = mapped_column(ForeignKey("screens.id"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    hour: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0-23, local
    plays: Mapped[int] = mapped_column(Integer, default=0)
    airtime_seconds: Mapped[float] = mapped_column(Float, default=0.0)


class PlannedHourly(db.Model):
    """Complete plays a board's manifest asked for, per campaign and local clock hour.

    Written when the scheduler makes a manifest (cms.services.plan_record): the hours
    from the next whole hour on are replaced by the new plan; an hour already under
    way keeps the plan it started with, so history is the plan as it stood then.
    """

    __tablename__ = "planned_hourly"
    __table_args__ = (Index("ix_planned_hourly_campaign_day", "campaign_id", "day"),
                      Index("ix_planned_hourly_screen_day", "screen_id", "day"))

    screen_id: Mapped[int] = mapped_column(ForeignKey("screens.id"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # NO_CAMPAIGN for fallback items without one
    hour_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    day: Mapped[date] = mapped_column(Date)  # the board's local date and hour of hour_start
    hour: Mapped[int] = mapped_column(Integer)
    plays: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)


class PlannedDaily(db.Model):
    """planned_hourly summed per board, campaign and local day, rewritten with it
    (cms.services.plan_record), so a report over months reads days, not hours."""

    __tablename__ = "planned_daily"
    __table_args__ = (Index("ix_planned_daily_campaign_day", "campaign_id", "day"),)

    screen_id: Mapped[int] = mapped_column(ForeignKey("screens.id"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    plays: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)


class PlanHour(db.Model):
    """That a plan was recorded for one board and clock hour, and how much of it was lit.

    An hour without a row had no manifest behind it (the scheduler was not running);
    lit_seconds below 3600 are the board's dark time (outside operating hours).
    """

    __tablename__ = "plan_hours"

    screen_id: Mapped[int] = mapped_column(ForeignKey("screens.id"), primary_key=True)
    hour_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    hour: Mapped[int] = mapped_column(Integer)
    lit_seconds: Mapped[float] = mapped_column(Float, default=0.0)
