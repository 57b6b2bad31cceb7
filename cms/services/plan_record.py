"""What each board was planned to play, per campaign and local clock hour, kept as
the scheduler makes manifests, so "planned vs delivered" is the plan as it stood.

`record_plan` runs in the reconcile transaction for every new manifest version.
The hours from the next whole hour on are replaced by the new timeline; the hour
under way keeps the plan it began with (a change takes effect in the counts from
the next hour), unless it had none yet (a new board, or the scheduler was not
running), in which case it counts the plays from now on. Past hours never change.

A planned play is a complete play of the timeline (`Segment.plays` without the one
cut at a hard boundary), counted on the hour its start falls in, as boards report.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, func, insert, select

from cms.extensions import db
from cms.models import NO_CAMPAIGN, PlanHour, PlannedDaily, PlannedHourly
from cms.services.play_stats import board_zone
from scheduler.model import Timeline

HOUR_US = 3_600_000_000
QUARTER_US = HOUR_US // 4
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _us(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def _instant(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


class _Hours:
    """Local clock hours of one board as UTC microsecond intervals (half-hour zones included)."""

    def __init__(self, zone_name: str) -> None:
        self.zone = board_zone(zone_name)
        self._starts: dict[int, int] = {}
        self._by_quarter: dict[int, int | None] = {}

    def _start_of(self, us: int) -> int:
        local = _instant(us).astimezone(self.zone)
        offset_us = (local.utcoffset() or timedelta()) // timedelta(microseconds=1)
        return (us + offset_us) // HOUR_US * HOUR_US - offset_us

    def start_of(self, us: int) -> int:
        """The start of the local clock hour holding `us`.

        Zone offsets and their changes fall on quarter hours, so within a UTC quarter hour the
        answer is one: worked out once per quarter (and checked at both of its ends), which a
        timeline of a thousand segments asks about again and again."""
        quarter = us // QUARTER_US
        if quarter not in self._by_quarter:
            first = self._start_of(quarter * QUARTER_US)
            self._by_quarter[quarter] = first if first == self._start_of((quarter + 1) * QUARTER_US - 1) else None
        start = self._by_quarter[quarter]
        return start if start is not None else self._start_of(us)

    def end_of(self, start: int) -> int:
        if start not in self._starts:
            self._starts[start] = self.start_of(start + HOUR_US)
        return self._starts[start]

    def label(self, start: int) -> tuple[datetime, int]:
        local = _instant(start).astimezone(self.zone)
        return local, local.hour


def _count(timeline: Timeline, hours: _Hours, since: int
           ) -> tuple[dict[tuple[int, int], list[float]], dict[int, float]]:
    """Complete plays and their seconds per (campaign, hour start), and lit seconds per
    hour start, for the part of `timeline` from `since` on."""
    planned: dict[tuple[int, int], list[float]] = defaultdict(lambda: [0, 0.0])
    lit: dict[int, float] = defaultdict(float)
    passes: dict[int, tuple[list[tuple[int, int]], int, dict[int, list[float]]]] = {}  # by playlist, once
    for segment in timeline.segments:
        first, end = _us(segment.start), _us(segment.end)
        at = max(first, since)
        while at < end:  # lit time, split at hour boundaries
            hour = hours.start_of(at)
            stop = min(end, hours.end_of(hour))
            lit[hour] += (stop - at) / 1e6
            at = stop
        playlist = segment.playlist
        if playlist is None:
            continue
        if id(playlist) not in passes:
            items = [(round(i.duration * 1_000_000), i.campaign_id if i.campaign_id is not None else NO_CAMPAIGN)
                     for i in playlist.items]
            per_loop: dict[int, list[float]] = defaultdict(lambda: [0, 0.0])
            for duration, campaign in items:
                per_loop[campaign][0] += 1
                per_loop[campaign][1] += duration / 1e6
            passes[id(playlist)] = items, sum(d for d, _ in items), per_loop
        items, loop_us, per_loop = passes[id(playlist)]
        at, index = first, segment.first_item or 0
        hour = hours.start_of(at)
        hour_end = hours.end_of(hour)
        while at < end:
            if at >= hour_end:
                hour = hours.start_of(at)
                hour_end = hours.end_of(hour)
            # Whole passes that start and end inside this hour and the segment add up at once.
            if at >= since and at + loop_us <= min(hour_end, end):
                loops = (min(hour_end, end) - at) // loop_us
                for campaign, (plays, seconds) in per_loop.items():
                    counts = planned[(campaign, hour)]
                    counts[0] += plays * loops
                    counts[1] += seconds * loops
                at += loops * loop_us
                continue
            duration, campaign = items[index]
            if at >= since and at + duration <= end:  # the play cut at the segment's end is not complete
                counts = planned[(campaign, hour)]
                counts[0] += 1
                counts[1] += duration / 1e6
            at += duration
            index = (index + 1) % len(items)
    return planned, lit


def record_plan(screen_id: int, zone_name: str, timeline: Timeline, now: datetime) -> None:
    """Replace the board's plan from the next whole hour on with `timeline`'s (see module doc)."""
    hours = _Hours(zone_name)
    now_us = _us(now)
    current = hours.start_of(now_us)
    upcoming = hours.end_of(current)
    had_current = db.session.scalar(select(PlanHour.screen_id).where(
        PlanHour.screen_id == screen_id, PlanHour.hour_start == _instant(current))) is not None
    since = upcoming if had_current else max(now_us, _us(timeline.start))
    replace_from = _instant(upcoming if had_current else current)
    planned, lit = _count(timeline, hours, since)
    db.session.execute(delete(PlannedHourly).where(
        PlannedHourly.screen_id == screen_id, PlannedHourly.hour_start >= replace_from))
    db.session.execute(delete(PlanHour).where(PlanHour.screen_id == screen_id, PlanHour.hour_start >= replace_from))
    hour_rows = []
    start = hours.start_of(since)
    while start < _us(timeline.end):  # dark hours get a row too: "planned nothing, board dark" is a plan
        local, hour = hours.label(start)
        hour_rows.append({"screen_id": screen_id, "hour_start": _instant(start), "day": local.date(), "hour": hour,
                          "lit_seconds": lit.get(start, 0.0)})
        start = hours.end_of(start)
    # Core inserts (a board has a few hundred rows a change, and a group's rule changes hundreds of boards).
    if hour_rows:
        db.session.connection().execute(insert(PlanHour.__table__), hour_rows)
    play_rows = []
    for (campaign, start), (plays, seconds) in sorted(planned.items()):
        if plays:
            local, hour = hours.label(start)
            play_rows.append({"screen_id": screen_id, "campaign_id": campaign, "hour_start": _instant(start),
                              "day": local.date(), "hour": hour, "plays": int(plays), "seconds": seconds})
    if play_rows:
        db.session.connection().execute(insert(PlannedHourly.__table__), play_rows)
    _sum_days(screen_id, hours.label(hours.start_of(_us(replace_from)))[0].date())


def _sum_days(screen_id: int, first_day: date) -> None:
    """planned_daily from planned_hourly again for the board's days from `first_day` on."""
    db.session.execute(delete(PlannedDaily).where(PlannedDaily.screen_id == screen_id, PlannedDaily.day >= first_day))
    db.session.execute(insert(PlannedDaily).from_select(
        ["screen_id", "campaign_id", "day", "plays", "seconds"],
        select(PlannedHourly.screen_id, PlannedHourly.campaign_id, PlannedHourly.day, func.sum(PlannedHourly.plays),
               func.sum(PlannedHourly.seconds))
        .where(PlannedHourly.screen_id == screen_id, PlannedHourly.day >= first_day)
        .group_by(PlannedHourly.screen_id, PlannedHourly.campaign_id, PlannedHourly.day)))
