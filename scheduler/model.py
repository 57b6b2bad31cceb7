"""The resolver's inputs and outputs: plain frozen dataclasses, validated on creation.

Inputs: `Item`, `Playlist`, `DailyWindow`, `Board`, `Rule`.
Outputs: `Segment`, `Play`, `Starvation`, `Timeline`.

Every input checks itself in `__post_init__` and raises `ValueError` with a message
that names the field and the offending value, so a caller (a form, the API, the
CLI) can pass the message on. Collections are normalised to tuples (sorted where
order carries no meaning) so that two equal inputs compare and hash equal whatever
order the caller built them in.

Times of day are naive `datetime.time` values in the board's local time zone;
instants in the output are aware UTC `datetime` values. Durations are seconds
(int or float); the resolver works to the microsecond.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SegmentKind = Literal["interrupt", "scheduled", "fill", "fallback", "idle"]
SEGMENT_KINDS: tuple[str, ...] = ("interrupt", "scheduled", "fill", "fallback", "idle")
ALL_WEEKDAYS: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)  # Monday = 0, as date.weekday()


def _set(obj: object, name: str, value: object) -> None:
    """Normalise a field of a frozen dataclass during __post_init__."""
    object.__setattr__(obj, name, value)


def _check_duration(what: str, seconds: float) -> None:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise ValueError(f"{what}: duration must be a number of seconds, got {seconds!r}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{what}: duration must be positive, got {seconds!r} s")
    if round(seconds * 1_000_000) < 1:
        raise ValueError(f"{what}: duration {seconds!r} s is shorter than a microsecond")


@dataclass(frozen=True)
class Item:
    """One asset in a playlist and how long it stays on screen (seconds)."""

    asset_id: int
    campaign_id: int | None
    duration: float

    def __post_init__(self) -> None:
        _check_duration(f"item for asset {self.asset_id}", self.duration)


@dataclass(frozen=True)
class Playlist:
    """Ordered items played in turn; a playlist loops. One pass = every item once."""

    playlist_id: int
    items: tuple[Item, ...]

    def __post_init__(self) -> None:
        items = tuple(self.items)
        if not items:
            raise ValueError(f"playlist {self.playlist_id}: a playlist needs at least one item")
        for item in items:
            if not isinstance(item, Item):
                raise ValueError(f"playlist {self.playlist_id}: items must be Item, got {item!r}")
        _set(self, "items", items)

    @property
    def pass_seconds(self) -> float:
        """How long one full pass through the playlist lasts."""
        return sum(item.duration for item in self.items)


@dataclass(frozen=True)
class DailyWindow:
    """A daily stretch of local time, [start, end).

    `end <= start` means the window crosses midnight: 22:00–02:00 runs from 22:00
    on a day to 02:00 on the next, and `end == 00:00` means "until midnight"
    (05:30–00:00 is 05:30–24:00). `start == end` would be a window of no length
    and is refused; for "all day" leave the window out (`Board.operating_hours =
    None`, `Rule.windows = ()`).
    """

    start: time
    end: time

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, time):
                raise ValueError(f"daily window {name} must be a datetime.time, got {value!r}")
            if value.tzinfo is not None:
                raise ValueError(
                    f"daily window {name} {value} must be a local time without a time zone "
                    "(the board's time zone applies)"
                )
        if self.start == self.end:
            raise ValueError(
                f"daily window {self.start:%H:%M}–{self.end:%H:%M} has zero length; "
                "leave the window out for all day"
            )

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


@dataclass(frozen=True)
class Board:
    """A Panoled screen as the resolver sees it.

    `operating_hours=None` means the board is lit 24 h a day. `group` is the board
    group (district or site) that rules may target. `fallback` plays whenever no
    rule has anything to show; without one the board shows an idle segment.
    """

    board_id: int
    time_zone: str = "Asia/Ho_Chi_Minh"
    operating_hours: DailyWindow | None = None
    group: str | None = None
    fallback: Playlist | None = None

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise ValueError(
                f"board {self.board_id}: unknown time zone {self.time_zone!r}"
            ) from exc
        if self.operating_hours is not None and not isinstance(self.operating_hours, DailyWindow):
            raise ValueError(
                f"board {self.board_id}: operating_hours must be a DailyWindow or None (24 h)"
            )
        if self.fallback is not None and not isinstance(self.fallback, Playlist):
            raise ValueError(f"board {self.board_id}: fallback must be a Playlist or None")
        if self.group is not None and (not isinstance(self.group, str) or not self.group):
            raise ValueError(f"board {self.board_id}: group must be a non-empty name or None")


@dataclass(frozen=True)
class Rule:
    """A schedule rule: a playlist on boards and/or board groups.

    Active on the local dates `date_from`..`date_to` (inclusive; the caller
    defaults them to the campaign period), on `weekdays` (0 = Monday), inside
    `windows` (empty = all day) in each board's local time. A window that crosses
    midnight belongs to the day it starts on: 22:00–02:00 on a Friday that is the
    last day of the range still runs until 02:00 on Saturday.

    How much airtime it asks for: `plays_per_hour` full passes each clock hour,
    or `share_of_voice` (0 < sov <= 1) of each hour's airtime (together: quota
    rules), or neither (a fill rule: it fills whatever time the quota rules
    leave). `interrupt=True` makes it an emergency rule (storm, flood) that
    pre-empts everything while active; it loops its playlist and may not ask for
    plays per hour or a share of voice. Among interrupts, among quota rules and
    among fill rules the higher `priority` wins, equal priorities going to the
    lower `rule_id`; `scheduler.resolver` has the full rules.
    """

    rule_id: int
    playlist: Playlist
    date_from: date
    date_to: date
    board_ids: tuple[int, ...] = ()
    groups: tuple[str, ...] = ()
    weekdays: tuple[int, ...] = ALL_WEEKDAYS
    windows: tuple[DailyWindow, ...] = ()
    priority: int = 0
    plays_per_hour: int | None = None
    share_of_voice: float | None = None
    interrupt: bool = False

    def __post_init__(self) -> None:
        name = f"rule {self.rule_id}"
        if not isinstance(self.playlist, Playlist):
            raise ValueError(f"{name}: playlist must be a Playlist, got {self.playlist!r}")
        for field_name in ("date_from", "date_to"):
            value = getattr(self, field_name)
            if not isinstance(value, date) or isinstance(value, datetime):
                raise ValueError(f"{name}: {field_name} must be a date, got {value!r}")
        if self.date_to < self.date_from:
            raise ValueError(
                f"{name}: date range ends ({self.date_to}) before it starts ({self.date_from})"
            )
        _set(self, "board_ids", tuple(sorted(set(self.board_ids))))
        _set(self, "groups", tuple(sorted(set(self.groups))))
        if not self.board_ids and not self.groups:
            raise ValueError(f"{name}: a rule needs at least one board or board group")
        weekdays = tuple(sorted(set(self.weekdays)))
        if not weekdays:
            raise ValueError(f"{name}: a rule needs at least one weekday")
        if any(isinstance(d, bool) or d not in ALL_WEEKDAYS for d in weekdays):
            raise ValueError(f"{name}: weekdays must be 0 (Monday) to 6 (Sunday), got {weekdays}")
        _set(self, "weekdays", weekdays)
        windows = tuple(self.windows)
        for window in windows:
            if not isinstance(window, DailyWindow):
                raise ValueError(f"{name}: windows must be DailyWindow, got {window!r}")
        _set(self, "windows", tuple(sorted(set(windows), key=lambda w: (w.start, w.end))))
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            raise ValueError(f"{name}: priority must be an integer, got {self.priority!r}")
        pph, sov = self.plays_per_hour, self.share_of_voice
        if pph is not None and sov is not None:
            raise ValueError(
                f"{name}: give plays per hour or share of voice, not both "
                f"(got {pph} plays per hour and share {sov})"
            )
        if pph is not None and (isinstance(pph, bool) or not isinstance(pph, int) or pph < 1):
            raise ValueError(f"{name}: plays per hour must be a whole number >= 1, got {pph!r}")
        if sov is not None:
            if isinstance(sov, bool) or not isinstance(sov, (int, float)) or not math.isfinite(sov):
                raise ValueError(f"{name}: share of voice must be a number, got {sov!r}")
            if not 0 < sov <= 1:
                raise ValueError(
                    f"{name}: share of voice must be more than 0 and at most 1, got {sov!r}"
                )
        if self.interrupt and (pph is not None or sov is not None):
            raise ValueError(
                f"{name}: an interrupt rule plays whenever it is active; "
                "it takes neither plays per hour nor share of voice"
            )

    @property
    def mode(self) -> Literal["interrupt", "plays_per_hour", "share_of_voice", "fill"]:
        if self.interrupt:
            return "interrupt"
        if self.plays_per_hour is not None:
            return "plays_per_hour"
        if self.share_of_voice is not None:
            return "share_of_voice"
        return "fill"


# ---------------------------------------------------------------------------
# Outputs


def _check_instants(what: str, start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError(f"{what}: start and end must be aware datetimes")
    if end <= start:
        raise ValueError(f"{what}: end {end.isoformat()} is not after start {start.isoformat()}")


@dataclass(frozen=True)
class Play:
    """One item on screen: a complete play unless `truncated` (cut at a hard boundary)."""

    start: datetime
    end: datetime
    asset_id: int
    campaign_id: int | None
    rule_id: int | None
    playlist_id: int
    item_index: int
    truncated: bool = False

    def __post_init__(self) -> None:
        _check_instants(f"play of asset {self.asset_id}", self.start, self.end)


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of a board's timeline given to one thing.

    `kind` is "interrupt", "scheduled" (a plays-per-hour pass or a share-of-voice
    turn), "fill" (a rule without a quota), "fallback" (the board's own playlist)
    or "idle" (lit, nothing to show). Playing segments start at item
    `first_item` of `playlist` and play the items back to back, looping, until
    `end`; `truncated` says the last play was cut at `end` (a hard boundary).
    `plays` lists them, computed from those fields on each access (keep the
    tuple if you need it twice).
    """

    start: datetime
    end: datetime
    kind: SegmentKind
    rule_id: int | None = None
    playlist_id: int | None = None
    first_item: int | None = None
    truncated: bool = False
    playlist: Playlist | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        _check_instants(f"{self.kind} segment", self.start, self.end)
        if self.kind not in SEGMENT_KINDS:
            raise ValueError(f"segment kind must be one of {SEGMENT_KINDS}, got {self.kind!r}")
        if (self.kind == "idle") != (self.playlist is None):
            raise ValueError("an idle segment has no playlist; every other segment has one")

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def plays(self) -> tuple[Play, ...]:
        if self.playlist is None:
            return ()
        items = self.playlist.items
        one_us = timedelta(microseconds=1)
        end = self.end
        index = self.first_item or 0
        at = self.start
        plays: list[Play] = []
        while at < end:
            item = items[index]
            stop = at + round(item.duration * 1_000_000) * one_us
            cut = stop > end
            plays.append(Play(at, end if cut else stop, item.asset_id, item.campaign_id,
                              self.rule_id, self.playlist.playlist_id, index, cut))
            at = stop
            index = (index + 1) % len(items)
        return tuple(plays)


# The resolver makes hundreds of thousands of segments whose validity follows from
# how they were made; it fills them through these slot setters, in field order,
# instead of the checked constructor, which would cost a quarter of its run. A
# test re-checks every segment it returns.
_SEGMENT_SETTERS = tuple(getattr(Segment, f.name).__set__ for f in fields(Segment))


@dataclass(frozen=True)
class Starvation:
    """A rule that was active but got less airtime than it asked for (a conflict).

    Seconds are counted inside the resolved window and operating hours, outside
    interrupts (which pre-empt by design, so they never count as a conflict for
    the rules beneath them, only for lower interrupts). `asked_plays`/`got_plays`
    are full passes for a plays-per-hour rule and None otherwise.
    """

    rule_id: int
    asked_seconds: float
    got_seconds: float
    asked_plays: int | None = None
    got_plays: int | None = None


@dataclass(frozen=True)
class Timeline:
    """What one board shows from `start` to `end` (UTC): sorted, non-overlapping segments.

    Inside operating hours the segments leave no gap; outside them there are none.
    `starved` lists the conflicts, by rule id; `plays` every item, in order.
    """

    board_id: int
    start: datetime
    end: datetime
    segments: tuple[Segment, ...]
    starved: tuple[Starvation, ...] = ()

    def __post_init__(self) -> None:
        _check_instants(f"timeline of board {self.board_id}", self.start, self.end)

    @property
    def plays(self) -> tuple[Play, ...]:
        return tuple(play for segment in self.segments for play in segment.plays)
