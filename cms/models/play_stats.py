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

from sqlalchemy import Date, Float, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from cms.extensions import db
from cms.models.types import UTCDateTime

NO_CAMPAIGN = 0


class PlayDaily(db.Model):
    __tablename__ = "play_daily"

    screen_id: Mapped[int] = mapped_column(ForeignKey("screens.id"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # NO_CAMPAIGN for plays without one
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # the board's local date of the start
    plays: Mapped[int] = mapped_column(Integer, default=0)
    airtime_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    first_start: Mapped[datetime] = mapped_column(UTCDateTime)
    last_end: Mapped[datetime] = mapped_column(UTCDateTime)


class PlayHourly(db.Model):
    __tablename__ = "play_hourly"

    screen_id: Mapped[int] = mapped_column(ForeignKey("screens.id"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    hour: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0-23, local
    plays: Mapped[int] = mapped_column(Integer, default=0)
    airtime_seconds: Mapped[float] = mapped_column(Float, default=0.0)
