"""Play counts per board, campaign and local day (and hour), kept as plays are stored.

`record_plays` runs inside the ingestion transaction with the rows that were actually
stored, so the counts move with the plays or not at all. Each batch is summed in
Python first, then one INSERT … ON CONFLICT DO UPDATE per table, with a row per key,
adds to the counters and widens first/last. `brute_force_totals` counts the same from
the raw plays, for tests and re-checks; `rebuild_aggregates` rewrites the tables from the raw plays
(after an upgrade that adds them, or to repair them).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import case, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from cms.errors import Conflict
from cms.extensions import db
from cms.models import NO_CAMPAIGN, PlayDaily, PlaybackEvent, PlayHourly, Screen

DailyKey = tuple[int, int, date]  # board, campaign (NO_CAMPAIGN for none), local day
HourlyKey = tuple[int, int, date, int]


@dataclass
class Tally:
    plays: int
    airtime_seconds: float
    first_start: datetime
    last_end: datetime

    def add(self, other: Tally) -> None:
        self.plays += other.plays
        self.airtime_seconds += other.airtime_seconds
        self.first_start = min(self.first_start, other.first_start)
        self.last_end = max(self.last_end, other.last_end)


@dataclass(frozen=True)
class Totals:
    """Plays of a campaign (or all campaigns) over some local days."""

    plays: int
    airtime_seconds: float
    boards: int
    first_start: datetime | None
    last_end: datetime | None


def board_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # a board with a zone we cannot read counts on UTC days rather than not at all


def _tallies(plays: Iterable[tuple[int, int | None, datetime, datetime]], zones: dict[int, ZoneInfo]
             ) -> tuple[dict[DailyKey, Tally], dict[HourlyKey, Tally]]:
    """Sums per key of (board, campaign, start, end) plays: counted on the local day and hour of the start."""
    hourly: dict[HourlyKey, list[Any]] = {}  # [plays, airtime, first start, last end]: plain lists in the loop
    for screen_id, campaign_id, started_at, ended_at in plays:
        local = started_at.astimezone(zones[screen_id])
        key = (screen_id, campaign_id if campaign_id is not None else NO_CAMPAIGN, local.date(), local.hour)
        seconds = (ended_at - started_at).total_seconds()
        sums = hourly.get(key)
        if sums is None:
            hourly[key] = [1, seconds, started_at, ended_at]
        else:
            sums[0] += 1
            sums[1] += seconds
            if started_at < sums[2]:
                sums[2] = started_at
            if ended_at > sums[3]:
                sums[3] = ended_at
    daily: dict[DailyKey, Tally] = {}
    for (screen_id, campaign_id, day, _hour), (count, seconds, first, last) in hourly.items():
        one = Tally(count, seconds, first, last)
        if (screen_id, campaign_id, day) in daily:
            daily[screen_id, campaign_id, day].add(one)
        else:
            daily[screen_id, campaign_id, day] = one
    return daily, {key: Tally(*sums) for key, sums in hourly.items()}


@cache
def _upserts(dialect_name: str) -> tuple[Any, Any]:
    """The two INSERT … ON CONFLICT DO UPDATE statements that add sums to the kept counts,
    built once (ingestion runs them for every batch)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    daily, hourly = PlayDaily.__table__, PlayHourly.__table__
    statement = dialect.insert(daily)
    new = statement.excluded
    add_daily = statement.on_conflict_do_update(
        index_elements=["screen_id", "campaign_id", "day"],
        set_={"plays": daily.c.plays + new.plays, "airtime_seconds": daily.c.airtime_seconds + new.airtime_seconds,
              "first_start": case((new.first_start < daily.c.first_start, new.first_start), else_=daily.c.first_start),
              "last_end": case((new.last_end > daily.c.last_end, new.last_end), else_=daily.c.last_end)})
    statement = dialect.insert(hourly)
    new = statement.excluded
    add_hourly = statement.on_conflict_do_update(
        index_elements=["screen_id", "campaign_id", "day", "hour"],
        set_={"plays": hourly.c.plays + new.plays, "airtime_seconds": hourly.c.airtime_seconds + new.airtime_seconds})
    return add_daily, add_hourly


def _upsert(daily: dict[DailyKey, Tally], hourly: dict[HourlyKey, Tally]) -> None:
    """Add the sums to the kept counts: one INSERT … ON CONFLICT DO UPDATE per table, its rows in
    a fixed key order so batches touching the same keys cannot deadlock."""
    add_daily, add_hourly = _upserts(db.session.get_bind().dialect.name)
    connection = db.session.connection()
    if daily:
        connection.execute(add_daily, [
            {"screen_id": screen_id, "campaign_id": campaign_id, "day": day, "plays": t.plays,
             "airtime_seconds": t.airtime_seconds, "first_start": t.first_start, "last_end": t.last_end}
            for (screen_id, campaign_id, day), t in sorted(daily.items())])
    if hourly:
        connection.execute(add_hourly, [
            {"screen_id": screen_id, "campaign_id": campaign_id, "day": day, "hour": hour, "plays": t.plays,
             "airtime_seconds": t.airtime_seconds}
            for (screen_id, campaign_id, day, hour), t in sorted(hourly.items())])


def record_plays(screen: Screen, rows: Iterable[dict[str, Any]]) -> None:
    """Count the board's newly stored plays (ingestion rows); the caller commits."""
    plays = [(screen.id, r["campaign_id"], r["started_at"], r["ended_at"]) for r in rows]
    if plays:
        _upsert(*_tallies(plays, {screen.id: board_zone(screen.timezone)}))


def _zones() -> dict[int, ZoneInfo]:
    return {screen_id: board_zone(name) for screen_id, name in db.session.execute(select(Screen.id, Screen.timezone))}


def _raw_plays(screen_id: int | None = None, campaign_id: int | None = None
               ) -> Iterator[tuple[int, int | None, datetime, datetime]]:
    query = select(PlaybackEvent.screen_id, PlaybackEvent.campaign_id, PlaybackEvent.started_at,
                   PlaybackEvent.ended_at).execution_options(yield_per=10_000)
    if screen_id is not None:
        query = query.where(PlaybackEvent.screen_id == screen_id)
    if campaign_id == NO_CAMPAIGN:
        query = query.where(PlaybackEvent.campaign_id.is_(None))
    elif campaign_id is not None:
        query = query.where(PlaybackEvent.campaign_id == campaign_id)
    for row in db.session.execute(query):
        yield row.screen_id, row.campaign_id, row.started_at, row.ended_at


def rebuild_aggregates() -> None:
    """Rewrite the counts from the raw plays; commits. Refused once plays have been
    archived: the database alone no longer holds every play the counts stand for."""
    from cms.models import PlaylogArchive

    if db.session.scalar(select(PlaylogArchive.id).limit(1)) is not None:
        raise Conflict("Plays have been archived: the counts cannot be rebuilt from the database alone.",
                       code="plays_archived")
    db.session.execute(delete(PlayHourly))
    db.session.execute(delete(PlayDaily))
    _upsert(*_tallies(_raw_plays(), _zones()))
    db.session.commit()


def daily_totals(campaign_id: int | None = None, screen_id: int | None = None, date_from: date | None = None,
                 date_to: date | None = None) -> Totals:
    """Totals from the kept counts over local days date_from..date_to (inclusive); campaign_id
    NO_CAMPAIGN means plays without a campaign, None every play."""
    filters = []
    if campaign_id is not None:
        filters.append(PlayDaily.campaign_id == campaign_id)
    if screen_id is not None:
        filters.append(PlayDaily.screen_id == screen_id)
    if date_from is not None:
        filters.append(PlayDaily.day >= date_from)
    if date_to is not None:
        filters.append(PlayDaily.day <= date_to)
    row = db.session.execute(select(
        func.coalesce(func.sum(PlayDaily.plays), 0), func.coalesce(func.sum(PlayDaily.airtime_seconds), 0.0),
        func.count(func.distinct(PlayDaily.screen_id)), func.min(PlayDaily.first_start), func.max(PlayDaily.last_end),
    ).where(*filters)).one()
    return Totals(int(row[0]), float(row[1]), int(row[2]), _utc(row[3]), _utc(row[4]))


def _utc(value: datetime | str | None) -> datetime | None:
    """min()/max() over a UTC column come back untyped on SQLite (a string)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def brute_force_totals(campaign_id: int | None = None, screen_id: int | None = None, date_from: date | None = None,
                       date_to: date | None = None) -> Totals:
    """The same totals counted from every raw play: slow, for tests and re-checks."""
    zones = _zones()
    plays = 0
    airtime = 0.0
    boards: set[int] = set()
    first: datetime | None = None
    last: datetime | None = None
    for board, _campaign, started_at, ended_at in _raw_plays(screen_id, campaign_id):
        day = started_at.astimezone(zones[board]).date()
        if (date_from is not None and day < date_from) or (date_to is not None and day > date_to):
            continue
        plays += 1
        airtime += (ended_at - started_at).total_seconds()
        boards.add(board)
        first = started_at if first is None or started_at < first else first
        last = ended_at if last is None or ended_at > last else last
    return Totals(plays, airtime, len(boards), first, last)
