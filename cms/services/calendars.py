"""Week calendars and conflicts, read from resolved board timelines.

A resolved week holds thousands of segments (a plays-per-hour rule alone makes
one per pass), far more than a person can read. `week_calendar` folds them into
blocks a calendar can draw: touching segments of the same rule merge; a short
quota turn (a pass of a plays-per-hour rule, a share-of-voice turn) becomes a
tick drawn over the block it interrupts, so the block beneath stays whole. Each
block is cut at local midnight into day columns; the hours outside every
segment are the board's dark hours.

`conflicts` lists, per board, the rules the resolver reports as starved
(`Timeline.starved`) and the better-ranked rules of the same tier that played
while the starved rule was active: the ones that took its time.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from cms.errors import NotFound, ValidationFailed
from cms.extensions import db
from cms.models import Campaign, Playlist, ScheduleRule, Screen
from cms.services.timelines import MAX_SPAN, board_for, rules_for
from scheduler.model import Rule, Segment, Timeline
from scheduler.resolver import resolve

WEEK_RE = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)
# A quota turn shorter than this is drawn as a tick over the block it interrupts.
TICK_SECONDS = 10 * 60
PALETTE_SIZE = 12  # .campaign-c0 … .campaign-c11 in panoled.css
_TIERS = {"interrupt": 0, "plays_per_hour": 1, "share_of_voice": 1, "fill": 2}


# --------------------------------------------------------------------------- weeks


def parse_week(text: str | None, today: date) -> date:
    """The Monday of an ISO week written like 2024-W23; no text: the week of `today`."""
    if not text:
        return today - timedelta(days=today.weekday())
    match = WEEK_RE.match(text)
    try:
        if match is None:
            raise ValueError(text)
        return date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        raise ValidationFailed("%(text)s is not a week. Write the year and the week number, like 2024-W23.",
                               code="calendar_bad_week", text=text[:40]) from None


def week_code(monday: date) -> str:
    year, week, _day = monday.isocalendar()
    return f"{year}-W{week:02d}"


def local_today(zone: str, now: datetime | None = None) -> date:
    return (now or datetime.now(timezone.utc)).astimezone(ZoneInfo(zone)).date()


def parse_period(first: str | None, last: str | None, today: date) -> tuple[date, date]:
    """Local dates from `first` to `last`, both included; by default the next 7 days from today."""
    try:
        start = date.fromisoformat(first) if first else today
        end = date.fromisoformat(last) if last else start + timedelta(days=6)
    except ValueError:
        raise ValidationFailed("Dates are written like 2024-06-03.", code="calendar_bad_date") from None
    if end < start:
        raise ValidationFailed("The end must come after the start.", code="timeline_bad_range")
    if end - start >= MAX_SPAN:
        raise ValidationFailed("Ask for at most 31 days at a time.", code="timeline_too_long")
    return start, end


# --------------------------------------------------------------------------- names


@dataclass(frozen=True)
class Names:
    """The rules and playlists a timeline mentions, for naming them on a page."""

    rules: dict[int, ScheduleRule]
    playlists: dict[int, Playlist]

    @classmethod
    def of(cls, timelines: list[Timeline]) -> Names:
        rule_ids = {s.rule_id for t in timelines for s in t.segments if s.rule_id is not None}
        rule_ids |= {s.rule_id for t in timelines for s in t.starved}
        playlist_ids = {s.playlist_id for t in timelines for s in t.segments if s.playlist_id is not None}
        rules = {r.id: r for r in db.session.scalars(select(ScheduleRule).where(ScheduleRule.id.in_(rule_ids)))} if rule_ids else {}
        playlist_ids |= {r.playlist_id for r in rules.values()}
        playlists = {p.id: p for p in db.session.scalars(select(Playlist).where(Playlist.id.in_(playlist_ids)))} if playlist_ids else {}
        return cls(rules, playlists)

    def campaign(self, playlist_id: int | None) -> Campaign | None:
        playlist = self.playlists.get(playlist_id) if playlist_id is not None else None
        return playlist.campaign if playlist is not None else None


def colour_class(campaign_id: int | None) -> str:
    """A stable colour per campaign: its id picks one of the palette's classes."""
    return "campaign-none" if campaign_id is None else f"campaign-c{campaign_id % PALETTE_SIZE}"


# --------------------------------------------------------------------------- week calendar


@dataclass
class Block:
    """Merged segments of one rule (or the fallback, or idle), in local time.

    `pieces` is how many segments it merges; `seconds` how long they played (less
    than `ends_at - starts_at` for a tick group whose turns were spread out).
    """

    kind: str
    rule_id: int | None
    playlist_id: int | None
    starts_at: datetime
    ends_at: datetime
    pieces: int = 1
    seconds: float = 0.0
    campaign: Campaign | None = None
    playlist: Playlist | None = None
    rule: ScheduleRule | None = None

    @property
    def key(self) -> tuple[str, int | None, int | None]:
        return self.kind, self.rule_id, self.playlist_id

    @property
    def colour(self) -> str:
        if self.kind in ("interrupt", "fallback", "idle"):
            return self.kind
        return colour_class(self.campaign.id if self.campaign else None)


@dataclass(frozen=True)
class Placed:
    """A block's part inside one day column: hours from that day's midnight (0–24)."""

    block: Block
    top: float
    bottom: float


@dataclass
class DayColumn:
    day: date
    blocks: list[Placed] = field(default_factory=list)
    ticks: dict[int | None, list[Placed]] = field(default_factory=dict)
    dark: list[tuple[float, float]] = field(default_factory=list)

    @property
    def tick_groups(self) -> list[tuple[Block, list[Placed]]]:
        """Per rule: a summary block (first start to last end, airtime, passes) and its ticks."""
        groups = []
        for placed in self.ticks.values():
            first, last = placed[0].block, placed[-1].block
            summary = Block(first.kind, first.rule_id, first.playlist_id, first.starts_at, last.ends_at,
                            pieces=sum(p.block.pieces for p in placed), seconds=sum(p.block.seconds for p in placed),
                            campaign=first.campaign, playlist=first.playlist, rule=first.rule)
            groups.append((summary, placed))
        return groups


@dataclass
class WeekCalendar:
    screen: Screen
    monday: date
    days: list[DayColumn]

    @property
    def week(self) -> str:
        return week_code(self.monday)


def legend_campaigns(calendars: list[WeekCalendar]) -> list[Campaign]:
    """The campaigns drawn in their own colour in these calendars, in plan order, for the legend."""
    seen: dict[int, Campaign] = {}
    for calendar in calendars:
        for day in calendar.days:
            for placed in [*day.blocks, *(p for ticks in day.ticks.values() for p in ticks)]:
                campaign = placed.block.campaign
                if campaign is not None and placed.block.kind not in ("interrupt", "fallback"):
                    seen[campaign.id] = campaign
    return sorted(seen.values(), key=lambda c: (c.number is None, c.number or 0, c.id))


def week_calendars(screens: list[Screen], monday: date) -> list[WeekCalendar]:
    """One calendar per board for the ISO week starting `monday`, resolved in one call."""
    if not screens:
        return []
    bounds = {s.id: _local_bounds(s.timezone, monday, monday + timedelta(days=7)) for s in screens}
    start, end = min(b[0] for b in bounds.values()), max(b[1] for b in bounds.values())
    timelines = resolve([board_for(s) for s in screens], rules_for(screens), start, end)
    names = Names.of(list(timelines.values()))
    return [_calendar(s, monday, timelines[s.id], names) for s in screens]


def group_screens(name: str, screens: list[Screen]) -> list[Screen]:
    members = [s for s in screens if s.group_name and s.group_name.casefold() == name.strip().casefold()]
    if not members:
        raise NotFound("No board group %(ident)s.", code="group_not_found", ident=name)
    return sorted(members, key=lambda s: (s.code or "", s.id))


def _local_bounds(zone: str, first: date, stop: date) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    return (datetime.combine(first, time(0), tzinfo=tz).astimezone(timezone.utc),
            datetime.combine(stop, time(0), tzinfo=tz).astimezone(timezone.utc))


def _calendar(screen: Screen, monday: date, timeline: Timeline, names: Names) -> WeekCalendar:
    zone = ZoneInfo(screen.timezone)
    days = [DayColumn(monday + timedelta(days=i)) for i in range(7)]
    base, ticks = _fold(timeline.segments, zone, names)
    for block in base:
        for day, placed in _place(block, days):
            day.blocks.append(placed)
    for block in ticks:
        for day, placed in _place(block, days):
            day.ticks.setdefault(block.rule_id, []).append(placed)
    for day in days:
        lit = sorted((p.top, p.bottom) for p in [*day.blocks, *(t for group in day.ticks.values() for t in group)])
        day.dark = _gaps(lit)
    return WeekCalendar(screen, monday, days)


def _fold(segments: tuple[Segment, ...], zone: ZoneInfo, names: Names) -> tuple[list[Block], list[Block]]:
    """Merge touching segments of one rule, then lift short quota turns out as ticks;
    a block interrupted only by ticks continues beneath them."""
    merged: list[Block] = []
    for segment in segments:
        block = Block(segment.kind, segment.rule_id, segment.playlist_id, segment.start.astimezone(zone),
                      segment.end.astimezone(zone), seconds=segment.seconds)
        last = merged[-1] if merged else None
        if last is not None and last.key == block.key and last.ends_at == block.starts_at:
            last.ends_at, last.pieces, last.seconds = block.ends_at, last.pieces + 1, last.seconds + block.seconds
        else:
            merged.append(block)
    base: list[Block] = []
    ticks: list[Block] = []
    cursor: datetime | None = None  # where the last block seen ended; a gap means dark time
    open_base: Block | None = None  # the base block ticks may be drawn over
    for block in merged:
        touching = cursor is not None and block.starts_at == cursor
        if not touching:
            open_base = None
        cursor = block.ends_at
        if block.kind == "scheduled" and (block.ends_at - block.starts_at).total_seconds() < TICK_SECONDS:
            if ticks and ticks[-1].key == block.key and ticks[-1].ends_at == block.starts_at:
                ticks[-1].ends_at, ticks[-1].pieces = block.ends_at, ticks[-1].pieces + block.pieces
                ticks[-1].seconds += block.seconds
            else:
                ticks.append(block)
            continue
        if open_base is not None and open_base.key == block.key:
            open_base.ends_at, open_base.pieces = block.ends_at, open_base.pieces + block.pieces
            open_base.seconds += block.seconds
        else:
            base.append(block)
            open_base = block
    for block in [*base, *ticks]:
        block.playlist = names.playlists.get(block.playlist_id) if block.playlist_id is not None else None
        block.campaign = names.campaign(block.playlist_id)
        block.rule = names.rules.get(block.rule_id) if block.rule_id is not None else None
    return base, ticks


def _place(block: Block, days: list[DayColumn]) -> list[tuple[DayColumn, Placed]]:
    """The block's parts in each day column it touches, by local wall-clock time."""
    start = block.starts_at.replace(tzinfo=None)
    end = block.ends_at.replace(tzinfo=None)
    parts = []
    # The columns are consecutive days: begin at the block's first day (a week holds thousands of blocks).
    for day in days[max(0, (start.date() - days[0].day).days):]:
        midnight = datetime.combine(day.day, time(0))
        if midnight >= end:
            break
        top = max(start, midnight)
        bottom = min(end, midnight + timedelta(days=1))
        if bottom > top:
            parts.append((day, Placed(block, (top - midnight).total_seconds() / 3600,
                                      (bottom - midnight).total_seconds() / 3600)))
    return parts


def _gaps(lit: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The parts of 0–24 h that no lit interval covers."""
    gaps = []
    at = 0.0
    for top, bottom in lit:
        if top > at + 1e-9:
            gaps.append((at, top))
        at = max(at, bottom)
    if at < 24 - 1e-9:
        gaps.append((at, 24.0))
    return gaps


# --------------------------------------------------------------------------- conflicts


@dataclass(frozen=True)
class Taker:
    """A better-ranked rule that played while a starved rule was active."""

    rule_id: int
    seconds: float
    rule: ScheduleRule | None
    campaign: Campaign | None


@dataclass(frozen=True)
class Shortfall:
    rule_id: int
    asked_seconds: float
    got_seconds: float
    asked_plays: int | None
    got_plays: int | None
    rule: ScheduleRule | None
    campaign: Campaign | None
    takers: tuple[Taker, ...]

    @property
    def percent(self) -> float:
        return 100.0 * self.got_seconds / self.asked_seconds if self.asked_seconds else 100.0


@dataclass(frozen=True)
class BoardConflicts:
    screen: Screen
    shortfalls: tuple[Shortfall, ...]


def conflicts(screens: list[Screen], first: date, last: date, zone: str) -> list[BoardConflicts]:
    """Starved rules per board over the local dates `first`..`last`, all boards resolved at once."""
    if not screens:
        return []
    start, end = _local_bounds(zone, first, last + timedelta(days=1))
    rules = rules_for(screens)
    timelines = resolve([board_for(s) for s in screens], rules, start, end)
    names = Names.of(list(timelines.values()))
    by_id = {r.rule_id: r for r in rules}
    found = []
    for screen in screens:
        timeline = timelines[screen.id]
        shortfalls = tuple(
            Shortfall(s.rule_id, s.asked_seconds, s.got_seconds, s.asked_plays, s.got_plays,
                      names.rules.get(s.rule_id), names.campaign(_playlist_of(s.rule_id, by_id)),
                      _takers(by_id[s.rule_id], timeline, screen.timezone, by_id, names) if s.rule_id in by_id else ())
            for s in sorted(timeline.starved, key=lambda s: s.got_seconds / s.asked_seconds if s.asked_seconds else 1)
        )
        if shortfalls:
            found.append(BoardConflicts(screen, shortfalls))
    return found


def _playlist_of(rule_id: int, rules: dict[int, Rule]) -> int | None:
    rule = rules.get(rule_id)
    return rule.playlist.playlist_id if rule else None


def _rank(rule: Rule) -> tuple[int, int, int]:
    return _TIERS[rule.mode], -rule.priority, rule.rule_id


def _takers(starved: Rule, timeline: Timeline, zone: str, rules: dict[int, Rule], names: Names) -> tuple[Taker, ...]:
    """Better-ranked rules of the starved rule's tier, with the time they played while it was active
    (the resolver counts a shortfall only against those: interrupts pre-empt by design, and a fill
    rule is not owed the time quota rules take)."""
    active = _active_parts(starved, zone, timeline.start, timeline.end)
    seconds: dict[int, float] = defaultdict(float)
    for segment in timeline.segments:
        other = rules.get(segment.rule_id) if segment.rule_id is not None else None
        if other is None or other.rule_id == starved.rule_id:
            continue
        if _TIERS[other.mode] != _TIERS[starved.mode] or _rank(other) > _rank(starved):
            continue
        seconds[other.rule_id] += sum(
            (min(segment.end, b) - max(segment.start, a)).total_seconds()
            for a, b in active if segment.start < b and a < segment.end
        )
    return tuple(
        Taker(rule_id, secs, names.rules.get(rule_id), names.campaign(rules[rule_id].playlist.playlist_id))
        for rule_id, secs in sorted(seconds.items(), key=lambda item: -item[1]) if secs > 0
    )


def _active_parts(rule: Rule, zone: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The rule's window occurrences inside [start, end), as the resolver reads them: a
    window crossing midnight belongs to the day it starts on."""
    tz = ZoneInfo(zone)
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date()
    parts = []
    day = first
    while day <= last:
        if rule.date_from <= day <= rule.date_to and day.weekday() in rule.weekdays:
            for window_start, window_end in ([(w.start, w.end) for w in rule.windows] or [(time(0), time(0))]):
                a = datetime.combine(day, window_start, tzinfo=tz)
                b = datetime.combine(day + timedelta(days=1) if window_end <= window_start else day, window_end, tzinfo=tz)
                a, b = max(a, start), min(b, end)
                if b > a:
                    parts.append((a, b))
        day += timedelta(days=1)
    return parts
