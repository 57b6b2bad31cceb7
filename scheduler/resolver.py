"""Resolve schedule rules into a timeline per board: what plays when, item by item.

`resolve(boards, rules, start, end)` is a pure function of its arguments (no
clock, no database). Its rules, in the order they apply:

Operating hours and the window. Nothing is shown outside a board's operating
hours or outside [start, end). Inside both, the timeline has no gap: when
nothing is scheduled the board's fallback playlist plays, and without one an
"idle" segment covers the time. Local wall times are turned into instants with
`fold=0`: a repeated hour (autumn DST) means its first occurrence and a time
that does not exist (spring DST) moves forward by the gap, as PEP 495 does; a
window occurrence that ends up empty is skipped. The resolver assumes nothing
is playing at `start`.

Days and windows. A rule is active on a local date D when D is in its date
range and its weekdays; a window crossing midnight belongs to D (the day it
starts): 22:00–02:00 on the last day of a campaign still runs until 02:00 the
next morning, and on the morning after a weekday that is not chosen nothing of
it plays. Overlapping or touching windows of one rule merge. A rule's "active
parts" are its window occurrences inside the board's operating hours.

Interrupts pre-empt everything, at once, whenever active inside operating
hours; among several the highest priority wins, then the lowest rule id. They
loop their playlist and are cut wherever they stop.

Below interrupts come the quota rules (plays per hour, share of voice), then
the fill rules ("fill whatever time is left"), then the board's fallback, then
idle. Within each tier rules are ranked by priority (higher first), then rule
id (lower first). Whenever the screen is free the board plays the best-ranked
quota rule that wants to play; if none does, the best-ranked active fill rule;
else the fallback; else it is idle.

- plays per hour (n): in every local clock hour fully inside an active part,
  slot k falls due at hour_start + k·3600/n. In a partial hour (the active part
  covers only a span L of it) n is pro-rated to round(n·L/3600), half up, and
  those slots are spread evenly from the start of the span: a 05:30–06:00 part
  with n = 4 gets slots at 05:30 and 05:45; a 05:50–06:00 part with n = 1 gets
  none. A due slot wants one full pass (from item 0). A slot that has not
  started when the rule's next slot falls due is dropped (missed), so after an
  interrupt or a busy spell at most one pass per rule is made up.
- share of voice (s): each clock hour's span L of an active part owes
  s·L seconds, in turns spread evenly like the slots above: one turn per pass
  length owed, rounded up, but at most 6 an hour (one every ten minutes; a
  short playlist or a large share plays several passes in a turn). When a
  turn falls due its share is credited to the rule, which then wants to play
  until its airtime in that hour reaches the credit, playing whole items and
  continuing its playlist where it left off. Credit not used within its hour
  lapses. A rule with s = 1 and a high priority therefore takes the screen over.
- fill (neither): plays throughout its active parts whenever no quota rule
  wants the screen, looping its playlist and continuing where it left off; a
  better-ranked fill rule takes all of a worse one's time.

Items are never cut short mid-play, except at a hard boundary: the end of
operating hours, the end of the requested window, the start of an interrupt, or
the end of the playing rule's active part (its window, date range or weekday
ending). A play crossing a hard boundary is cut there and marked
`truncated=True`; the playlist then goes on with the next item next time (a
boundary that falls between two items cuts nothing). Any other change waits:
a fill or fallback item on screen finishes before a quota slot starts, a
share-of-voice turn gives way to a better-ranked slot only between items, and
a plays-per-hour pass, once started, finishes whole.

Interrupt time neither owes nor earns: slots that fall due during an interrupt
are not counted as asked (one of them may still play right after it), and a
share-of-voice turn falling due inside an interrupt earns no credit.

Conflicts (`Timeline.starved`), per rule, inside the window and operating
hours and outside interrupts: a plays-per-hour rule whose slots were not all
played (asked = slots × pass length, with the slot counts; a pass still
waiting when the resolved window ends is not owed, it may play just after); a share-of-voice
rule that was kept waiting by a better-ranked quota rule and got less than its
credit by more than its longest item (the granularity of a turn); a fill rule
that lost time to a better-ranked fill rule while active (asked = got + lost);
an interrupt that lost time to a better one.

Determinism: rules and boards are ordered by their ids, never by input order or
set iteration; equal inputs give equal timelines. Boards with the same time
zone, operating hours, fallback and set of applicable rules share one
resolution (they would get identical timelines anyway).
"""
from __future__ import annotations

import gc
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from math import ceil
from zoneinfo import ZoneInfo

from scheduler.model import (
    Board,
    DailyWindow,
    Playlist,
    Rule,
    Segment,
    Starvation,
    Timeline,
    _SEGMENT_SETTERS,
)

__all__ = ["resolve"]

_US = 1_000_000
_HOUR = 3600 * _US
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_NEVER = 1 << 62
_MIDNIGHT = time(0)
_MAX_TURNS_PER_HOUR = 6  # share-of-voice turns come at most every 10 minutes

Interval = tuple[int, int]  # [start, end) in microseconds since the epoch, UTC


def resolve(
    boards: Iterable[Board],
    rules: Iterable[Rule],
    start: datetime,
    end: datetime,
) -> dict[int, Timeline]:
    """Resolve `rules` on `boards` for [start, end): one `Timeline` per board id, in UTC.

    `start` and `end` must be aware datetimes. The dict is ordered by board id.
    Raises ValueError for naive or reversed instants and duplicate board or rule ids.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes (with a time zone)")
    if end <= start:
        raise ValueError(f"end {end.isoformat()} must be after start {start.isoformat()}")
    board_list = list(boards)
    rule_list = list(rules)
    for board in board_list:
        if not isinstance(board, Board):
            raise ValueError(f"boards must be Board, got {board!r}")
    for rule in rule_list:
        if not isinstance(rule, Rule):
            raise ValueError(f"rules must be Rule, got {rule!r}")
    board_list.sort(key=lambda b: b.board_id)
    for before, after in zip(board_list, board_list[1:]):
        if before.board_id == after.board_id:
            raise ValueError(f"board {after.board_id} is given twice")
    ranked = sorted(rule_list, key=lambda r: (-r.priority, r.rule_id))
    seen: set[int] = set()
    for rule in ranked:
        if rule.rule_id in seen:
            raise ValueError(f"rule {rule.rule_id} is given twice")
        seen.add(rule.rule_id)
    with _cyclic_gc_paused():
        resolution = _Resolution(ranked, _to_us(start), _to_us(end))
        return {board.board_id: resolution.timeline(board) for board in board_list}


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector while the timelines are built.

    A resolution allocates hundreds of thousands of long-lived, acyclic objects
    (segments); the collector would walk them again and again as they pile up,
    which costs about a quarter of the run. Reference counting still frees
    everything (the resolver makes no cycles), and the previous state is restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _to_us(moment: datetime) -> int:
    return (moment - _EPOCH) // _ONE_US


def _instant(us: int, _from_timestamp=datetime.fromtimestamp) -> datetime:
    """The UTC datetime `us` microseconds after the epoch.

    Through a float: exact, since a float holds these instants to well under half a
    microsecond (until about the year 2240) and `fromtimestamp` rounds to the nearest
    microsecond; and twice as fast as adding a timedelta, once per segment.
    """
    return _from_timestamp(us / _US, UTC)


class _Playlist:
    """A playlist as offsets: prefix[i] = microseconds from the pass start to item i."""

    __slots__ = ("playlist", "playlist_id", "prefix", "length", "count", "longest")

    def __init__(self, playlist: Playlist) -> None:
        durations = [round(item.duration * _US) for item in playlist.items]
        prefix = [0]
        for duration in durations:
            prefix.append(prefix[-1] + duration)
        self.playlist = playlist
        self.playlist_id = playlist.playlist_id
        self.prefix = prefix
        self.length = prefix[-1]
        self.count = len(durations)
        self.longest = max(durations)

    def run(self, cursor: int, at: int, soft: int, hard: int) -> tuple[int, int, bool]:
        """Play whole items from `cursor` starting `at` until one ends at or after `soft`.

        A play crossing `hard` is cut there; one that would start at `hard` does not
        start. Returns (end, next cursor, truncated).
        """
        prefix, length = self.prefix, self.length
        target = prefix[cursor] + max(min(soft, hard) - at, 1)
        cycles, rest = divmod(target, length)
        index = bisect_left(prefix, rest)
        stop = at + cycles * length + prefix[index] - prefix[cursor]
        if stop <= hard:
            return stop, index % self.count, False
        rest = (prefix[cursor] + hard - at) % length
        index = bisect_right(prefix, rest) - 1  # the item on screen at `hard`
        if prefix[index] == rest:  # `hard` falls between two items: nothing is cut
            return hard, index, False
        return hard, (index + 1) % self.count, True


class _RuleInfo:
    """A rule as the sweep needs it; its rank is its index in `_Resolution.rules`."""

    __slots__ = ("rule", "rule_id", "mode", "playlist")

    def __init__(self, rule: Rule, playlist: _Playlist) -> None:
        self.rule = rule
        self.rule_id = rule.rule_id
        self.mode = rule.mode
        self.playlist = playlist


# Internal segment: (start, end, kind, rank or -1, playlist, first item, truncated)
_Piece = tuple[int, int, str, int, "_Playlist | None", int, bool]


class _Resolution:
    """One call of `resolve`: the ranked rules, their index, and caches shared by boards."""

    def __init__(self, ranked: list[Rule], start: int, end: int) -> None:
        self.start = start
        self.end = end
        playlists: dict[int, _Playlist] = {}
        self.rules: list[_RuleInfo] = []
        self.rule_ids: list[int] = []
        self.by_board: dict[int, list[int]] = {}
        self.by_group: dict[str, list[int]] = {}
        for rank, rule in enumerate(ranked):
            compiled = playlists.get(id(rule.playlist))
            if compiled is None:
                compiled = playlists[id(rule.playlist)] = _Playlist(rule.playlist)
            self.rules.append(_RuleInfo(rule, compiled))
            self.rule_ids.append(rule.rule_id)
            for board_id in rule.board_ids:
                self.by_board.setdefault(board_id, []).append(rank)
            for group in rule.groups:
                self.by_group.setdefault(group, []).append(rank)
        self._playlists = playlists
        self._zones: dict[str, ZoneInfo] = {}
        self._days: dict[str, tuple[date, date]] = {}
        self._local: dict[tuple[str, date, time], int] = {}
        self._operating: dict[tuple[str, DailyWindow | None], list[Interval]] = {}
        self._occurrences: dict[tuple[int, str], list[Interval]] = {}
        self._active: dict[tuple[int, str, DailyWindow | None], list[Interval]] = {}
        self._slots: dict[tuple[int, str, DailyWindow | None], list[tuple]] = {}
        self._shared: dict[tuple, tuple[tuple[Segment, ...], tuple[Starvation, ...]]] = {}
        self.start_dt = _instant(start)
        self.end_dt = _instant(end)

    # -- time ----------------------------------------------------------------

    def zone(self, name: str) -> ZoneInfo:
        zone = self._zones.get(name)
        if zone is None:
            zone = self._zones[name] = ZoneInfo(name)
        return zone

    def local(self, tz: str, day: date, at: time) -> int:
        key = (tz, day, at)
        us = self._local.get(key)
        if us is None:
            moment = datetime.combine(day, at, tzinfo=self.zone(tz))
            us = self._local[key] = _to_us(moment)
        return us

    def days(self, tz: str) -> tuple[date, date]:
        """Local dates whose windows can reach into the requested window."""
        span = self._days.get(tz)
        if span is None:
            zone = self.zone(tz)
            first = self.start_dt.astimezone(zone).date() - timedelta(days=1)
            last = self.end_dt.astimezone(zone).date()
            span = self._days[tz] = (first, last)
        return span

    def hour_phase(self, tz: str, us: int) -> int:
        """The zone's UTC offset at `us`, modulo an hour: local clock hours start at
        instants t with (t + phase) % hour == 0 (0 for whole-hour zones)."""
        offset = _instant(us).astimezone(self.zone(tz)).utcoffset()
        return (offset // _ONE_US) % _HOUR if offset is not None else 0

    def daily(self, tz: str, window: DailyWindow | None, days: Iterable[date]) -> list[Interval]:
        out: list[Interval] = []
        for day in days:
            if window is None:
                begin = self.local(tz, day, _MIDNIGHT)
                finish = self.local(tz, day + timedelta(days=1), _MIDNIGHT)
            else:
                begin = self.local(tz, day, window.start)
                end_day = day + timedelta(days=1) if window.crosses_midnight else day
                finish = self.local(tz, end_day, window.end)
            if finish > begin:
                out.append((begin, finish))
        return out

    # -- per rule and time zone (shared by boards) -----------------------------

    def operating(self, tz: str, hours: DailyWindow | None) -> list[Interval]:
        key = (tz, hours)
        found = self._operating.get(key)
        if found is None:
            if hours is None:
                found = [(-_NEVER, _NEVER)]
            else:
                first, last = self.days(tz)
                found = _merge(self.daily(tz, hours, _date_range(first, last)))
            self._operating[key] = found
        return found

    def occurrences(self, rank: int, tz: str) -> list[Interval]:
        key = (rank, tz)
        found = self._occurrences.get(key)
        if found is None:
            rule = self.rules[rank].rule
            first, last = self.days(tz)
            first, last = max(first, rule.date_from), min(last, rule.date_to)
            days = [d for d in _date_range(first, last) if d.weekday() in rule.weekdays]
            intervals: list[Interval] = []
            for window in rule.windows or (None,):
                intervals.extend(self.daily(tz, window, days))
            found = self._occurrences[key] = _merge(sorted(intervals))
        return found

    def active(self, rank: int, tz: str, hours: DailyWindow | None) -> list[Interval]:
        key = (rank, tz, hours)
        found = self._active.get(key)
        if found is None:
            found = _intersect(self.occurrences(rank, tz), self.operating(tz, hours))
            self._active[key] = found
        return found

    def slots(self, rank: int, tz: str, hours: DailyWindow | None) -> list[tuple]:
        """Due slots of a quota rule inside [start, end):
        (due, rank, expires, credit or 0 for a pass, hour, the rule's next due)."""
        key = (rank, tz, hours)
        found = self._slots.get(key)
        if found is not None:
            return found
        info = self.rules[rank]
        found = []
        for begin, finish in self.active(rank, tz, hours):
            if finish <= self.start or begin >= self.end:
                continue
            first = max(begin, self.start)
            hour = first - (first + self.hour_phase(tz, begin)) % _HOUR
            while hour < finish and hour < self.end:
                low, high = max(begin, hour), min(finish, hour + _HOUR)
                if high > self.start:
                    found.extend(_hour_slots(info, rank, low, high, hour, finish))
                hour += _HOUR
        found = [slot for slot in found if self.start <= slot[0] < self.end]
        # Each slot also carries when the rule's next slot falls due.
        following = [slot[0] for slot in found[1:]] + [_NEVER]
        found = [(*slot, after) for slot, after in zip(found, following)]
        self._slots[key] = found
        return found

    # -- per board -------------------------------------------------------------

    def rule_ranks(self, board: Board) -> tuple[int, ...]:
        ranks = list(self.by_board.get(board.board_id, ()))
        if board.group is not None:
            ranks.extend(self.by_group.get(board.group, ()))
        return tuple(sorted(set(ranks)))

    def timeline(self, board: Board) -> Timeline:
        ranks = self.rule_ranks(board)
        key = (board.time_zone, board.operating_hours, board.fallback, ranks)
        shared = self._shared.get(key)
        if shared is None:
            shared = self._shared[key] = _BoardRun(self, board, ranks).resolve()
        segments, starved = shared
        return Timeline(board.board_id, self.start_dt, self.end_dt, segments, starved)

    def fallback(self, playlist: Playlist) -> _Playlist:
        compiled = self._playlists.get(id(playlist))
        if compiled is None:
            compiled = self._playlists[id(playlist)] = _Playlist(playlist)
        return compiled


def _hour_slots(
    info: _RuleInfo, rank: int, low: int, high: int, hour: int, expires: int
) -> list[tuple]:
    """Slots of one clock hour's span [low, high) of an active part ending at `expires`."""
    span = high - low
    rule = info.rule
    if rule.plays_per_hour is not None:
        if span == _HOUR:
            count = rule.plays_per_hour
        else:
            count = (2 * rule.plays_per_hour * span + _HOUR) // (2 * _HOUR)
        return [(low + k * span // count, rank, expires, 0, hour) for k in range(count)]
    owed = round(rule.share_of_voice * span)
    if owed <= 0:
        return []
    count = min(ceil(owed / info.playlist.length), _MAX_TURNS_PER_HOUR)
    credits = [owed * (k + 1) // count - owed * k // count for k in range(count)]
    return [(low + k * span // count, rank, expires, credits[k], hour) for k in range(count)]


class _BoardRun:
    """The sweep over one board's free time, deciding what plays next."""

    def __init__(self, resolution: _Resolution, board: Board, ranks: tuple[int, ...]) -> None:
        self.res = resolution
        self.board = board
        tz, hours = board.time_zone, board.operating_hours
        window = [(resolution.start, resolution.end)]
        self.lit = _intersect(resolution.operating(tz, hours), window)
        self.interrupts: list[int] = []
        self.fills: list[int] = []
        self.quotas: list[int] = []
        for rank in ranks:
            mode = resolution.rules[rank].mode
            if mode == "interrupt":
                self.interrupts.append(rank)
            elif mode == "fill":
                self.fills.append(rank)
            else:
                self.quotas.append(rank)
        self.pieces: list[_Piece] = []
        self.ranks = ranks
        self.cursor = dict.fromkeys(ranks, 0)  # next item of each rule's loop
        self.asked = dict.fromkeys(ranks, 0)  # microseconds owed (sov, interrupts)
        self.got = dict.fromkeys(ranks, 0)  # microseconds played
        self.asked_plays = dict.fromkeys(ranks, 0)  # plays-per-hour slots owed
        self.got_plays = dict.fromkeys(ranks, 0)  # of those, slots played
        self.lost = dict.fromkeys(ranks, 0)  # microseconds taken by a better rule

    def resolve(self) -> tuple[tuple[Segment, ...], tuple[Starvation, ...]]:
        free = self.place_interrupts()
        if free:
            self.fill_free(free)
        return self.segments(), self.starvation()

    # -- interrupts ------------------------------------------------------------

    def place_interrupts(self) -> list[Interval]:
        if not self.interrupts:
            return self.lit
        res, tz, hours = self.res, self.board.time_zone, self.board.operating_hours
        events: list[tuple[int, int, int]] = []
        for rank in self.interrupts:
            for begin, finish in _intersect(res.active(rank, tz, hours), self.lit):
                events.append((begin, 1, rank))
                events.append((finish, -1, rank))
                self.asked[rank] += finish - begin
        winners: list[tuple[int, int, int]] = []
        for begin, finish, active in _sweep(events):
            top = active[0]
            for other in active[1:]:
                self.lost[other] += finish - begin
            if winners and winners[-1][2] == top and winners[-1][1] == begin:
                winners[-1] = (winners[-1][0], finish, top)
            else:
                winners.append((begin, finish, top))
        for begin, finish, rank in winners:
            playlist = self.res.rules[rank].playlist
            cursor = self.cursor[rank]
            stop, self.cursor[rank], cut = playlist.run(cursor, begin, finish, finish)
            self.pieces.append((begin, stop, "interrupt", rank, playlist, cursor, cut))
            self.got[rank] += stop - begin
        return _subtract(self.lit, [(b, f) for b, f, _ in winners])

    # -- everything below interrupts -------------------------------------------

    def fill_free(self, free: list[Interval]) -> None:
        """Decide, moment by moment, what plays in the time interrupts leave free.

        Each step plays one thing: a quota turn (a pass, or items until a share is
        met), or a run of a loop (fill rule, fallback, idle) up to the next moment
        something better-ranked could want the screen. Runs are computed from the
        playlist's offsets, never item by item.
        """
        res, tz, hours = self.res, self.board.time_zone, self.board.operating_hours
        rules = res.rules
        quotas = self.quotas  # best rank first
        per_rule = [res.slots(rank, tz, hours) for rank in quotas]
        slots = per_rule[0] if len(per_rule) == 1 else sorted(
            slot for found in per_rule for slot in found
        )
        n_slots, next_slot = len(slots), 0
        heads = {rank: found[0][0] if found else _NEVER for rank, found in zip(quotas, per_rule)}
        fills = self.fill_layer()
        fallback = res.fallback(self.board.fallback) if self.board.fallback else None
        pieces = self.pieces
        cursor = self.cursor
        asked, got, lost = self.asked, self.got, self.lost
        asked_plays, got_plays = self.asked_plays, self.got_plays
        # pending[rank] = (expires, counted): a plays-per-hour slot that fell due, or a
        # share-of-voice rule behind its credit; sov[rank] = [hour, credit, given]
        pending: dict[int, tuple[int, bool]] = {}
        sov: dict[int, list[int]] = {}
        n_fills, next_fill = len(fills), 0
        fallback_cursor = 0

        def admit(upto: int, counted_from: int) -> int:
            """Take in the slots due by `upto` (those before `counted_from` are not owed)."""
            index = next_slot
            while index < n_slots and slots[index][0] <= upto:
                due, rank, expires, credit, hour, heads[rank] = slots[index]
                index += 1
                counted = due >= counted_from
                if credit == 0:
                    pending[rank] = (expires, counted)
                    if counted:
                        asked_plays[rank] += 1
                    continue
                state = sov.get(rank)
                if state is None or state[0] != hour:
                    state = sov[rank] = [hour, 0, 0]
                if counted:
                    state[1] += credit
                    asked[rank] += credit
                if state[2] < state[1]:
                    pending[rank] = (expires, counted)
            return index

        for low, high in free:
            at = low
            next_slot = admit(at, low)
            soonest = slots[next_slot][0] if next_slot < n_slots else _NEVER
            while at < high:
                best = _NEVER
                if pending:
                    expired = []
                    for rank, (expires, _) in pending.items():
                        if expires <= at:
                            expired.append(rank)  # its window ended before it could play
                        elif rank < best:
                            best = rank
                    for rank in expired:
                        del pending[rank]
                if best != _NEVER:
                    info = rules[best]
                    expires, counted = pending.pop(best)
                    hard = high if high < expires else expires
                    playlist = info.playlist
                    if info.mode == "plays_per_hour":
                        stop = at + playlist.length
                        cut = False
                        if stop > hard:
                            stop, _, cut = playlist.run(0, at, stop, hard)
                        pieces.append((at, stop, "scheduled", best, playlist, 0, cut))
                        if counted:
                            got_plays[best] += 1
                    else:
                        # A turn gives way, between items, to a better-ranked slot.
                        state = sov[best]
                        soft = at + state[1] - state[2]
                        for rank in quotas:  # the next slot of a better-ranked rule
                            if rank >= best:
                                break
                            if heads[rank] < soft:
                                soft = heads[rank]
                        first = cursor[best]
                        stop, cursor[best], cut = playlist.run(first, at, soft, hard)
                        state[2] += stop - at
                        pieces.append((at, stop, "scheduled", best, playlist, first, cut))
                        if state[2] < state[1] and stop < expires:
                            pending[best] = (expires, counted)  # not caught up yet
                    got[best] += stop - at
                    for other in pending:  # worse-ranked rules kept waiting
                        if other != best:
                            lost[other] += stop - at
                else:
                    while next_fill < n_fills and fills[next_fill][1] <= at:
                        next_fill += 1
                    if next_fill < n_fills and fills[next_fill][0] <= at:
                        begin, finish, ranks, own_end = fills[next_fill]
                        top = ranks[0]
                        soft = min(high, finish, soonest)
                        playlist = rules[top].playlist
                        first = cursor[top]
                        stop, cursor[top], cut = playlist.run(
                            first, at, soft, high if high < own_end else own_end
                        )
                        _append(pieces, (at, stop, "fill", top, playlist, first, cut))
                        got[top] += stop - at
                        if len(ranks) > 1 or stop > finish:
                            self.count_lost(fills, next_fill, at, stop, top)
                    else:
                        soft = high if high < soonest else soonest
                        if next_fill < n_fills and fills[next_fill][0] < soft:
                            soft = fills[next_fill][0]
                        if fallback is not None:
                            stop, following, cut = fallback.run(fallback_cursor, at, soft, high)
                            _append(pieces, (at, stop, "fallback", -1, fallback,
                                             fallback_cursor, cut))
                            fallback_cursor = following
                        else:
                            stop = soft
                            _append(pieces, (at, stop, "idle", -1, None, 0, False))
                at = stop
                if soonest <= at:
                    next_slot = admit(at, low)
                    soonest = slots[next_slot][0] if next_slot < n_slots else _NEVER
            next_slot = admit(high - 1, low)
        if free and free[-1][1] >= res.end:
            # Passes still waiting when the resolved window ends are not judged here:
            # they may play right after it (in the next window), so they are not owed.
            for rank, (expires, counted) in pending.items():
                if counted and expires > res.end and rules[rank].mode == "plays_per_hour":
                    asked_plays[rank] -= 1

    def fill_layer(self) -> list[tuple[int, int, tuple[int, ...], int]]:
        """Stretches with a constant set of active fill rules: (start, end, ranks, top's end).

        "top's end" is where the best-ranked rule's own active part ends: a hard
        boundary for it, unlike the stretch's end, which may be another rule starting.
        """
        res, tz, hours = self.res, self.board.time_zone, self.board.operating_hours
        events: list[tuple[int, int, int]] = []
        parts: dict[int, list[Interval]] = {}
        for rank in self.fills:
            parts[rank] = _intersect(res.active(rank, tz, hours), self.lit)
            for begin, finish in parts[rank]:
                events.append((begin, 1, rank))
                events.append((finish, -1, rank))
        layer = []
        for begin, finish, active in _sweep(events):
            own = parts[active[0]]
            index = bisect_left(own, (begin, _NEVER)) - 1
            layer.append((begin, finish, active, own[index][1]))
        return layer

    def count_lost(self, fills: list, index: int, begin: int, end: int, top: int) -> None:
        """Time a fill run took from lower fill rules that were active beside it."""
        while index < len(fills) and fills[index][0] < end:
            low, high, ranks, _ = fills[index]
            overlap = min(high, end) - max(low, begin)
            if overlap > 0:
                for other in ranks:
                    if other > top:
                        self.lost[other] += overlap
            index += 1

    # -- output ------------------------------------------------------------------

    def segments(self) -> tuple[Segment, ...]:
        rule_ids = self.res.rule_ids
        instant, from_timestamp = _instant, datetime.fromtimestamp
        pieces = sorted(self.pieces, key=_first) if self.interrupts else self.pieces
        out = []
        append = out.append
        new = object.__new__
        s0, s1, s2, s3, s4, s5, s6, s7 = _SEGMENT_SETTERS
        previous_end, previous_at = -_NEVER, _EPOCH
        # Segments skip their checked constructor (see model._SEGMENT_SETTERS).
        for begin, end, kind, rank, playlist, first, cut in pieces:
            start_at = previous_at if begin == previous_end else instant(begin)
            end_at = previous_at = from_timestamp(end / _US, UTC)  # as _instant does
            previous_end = end
            segment = new(Segment)
            s0(segment, start_at)
            s1(segment, end_at)
            s2(segment, kind)
            if playlist is None:
                s3(segment, None)
                s4(segment, None)
                s5(segment, None)
                s7(segment, None)
            else:
                s3(segment, rule_ids[rank] if rank >= 0 else None)
                s4(segment, playlist.playlist_id)
                s5(segment, first)
                s7(segment, playlist.playlist)
            s6(segment, cut)
            append(segment)
        return tuple(out)

    def starvation(self) -> tuple[Starvation, ...]:
        rules = self.res.rules
        out: list[Starvation] = []
        for rank in self.ranks:
            info = rules[rank]
            got = self.got[rank]
            if info.mode == "plays_per_hour":
                asked_plays, got_plays = self.asked_plays[rank], self.got_plays[rank]
                if got_plays < asked_plays:
                    asked = asked_plays * info.playlist.length
                    out.append(_starved(info, asked, got, asked_plays, got_plays))
            elif info.mode == "share_of_voice":
                if self.lost[rank] and got + info.playlist.longest < self.asked[rank]:
                    out.append(_starved(info, self.asked[rank], got))
            elif info.mode == "fill":
                if self.lost[rank] > 0:
                    out.append(_starved(info, got + self.lost[rank], got))
            elif got < self.asked[rank]:
                out.append(_starved(info, self.asked[rank], got))
        return tuple(sorted(out, key=lambda s: s.rule_id))


def _starved(
    info: _RuleInfo, asked: int, got: int, asked_plays: int | None = None,
    got_plays: int | None = None,
) -> Starvation:
    return Starvation(info.rule_id, asked / _US, got / _US, asked_plays, got_plays)


def _first(piece: _Piece) -> int:
    return piece[0]


def _append(pieces: list[_Piece], piece: _Piece) -> None:
    """Add a loop segment, extending the previous one when the same loop simply goes on.

    The loop's cursor is per rule (and per board for the fallback), so a contiguous,
    uncut piece of the same loop always continues where the previous one stopped.
    """
    if pieces:
        last = pieces[-1]
        if (last[1] == piece[0] and last[2] == piece[2] and last[3] == piece[3]
                and last[4] is piece[4] and not last[6]):
            pieces[-1] = (last[0], piece[1], last[2], last[3], last[4], last[5], piece[6])
            return
    pieces.append(piece)


def _sweep(events: list[tuple[int, int, int]]) -> list[tuple[int, int, tuple[int, ...]]]:
    """Stretches where the set of active ranks (sorted) is constant and not empty.

    `events` are (instant, +1 for a start or -1 for an end, rank).
    """
    events.sort()
    out: list[tuple[int, int, tuple[int, ...]]] = []
    active: dict[int, int] = {}
    previous = 0
    for at, change, rank in events:
        if active and at > previous:
            out.append((previous, at, tuple(sorted(active))))
        count = active.get(rank, 0) + change
        if count:
            active[rank] = count
        else:
            del active[rank]
        previous = at
    return out


def _merge(intervals: list[Interval]) -> list[Interval]:
    """Sorted intervals with overlapping or touching ones joined."""
    out: list[Interval] = []
    for begin, finish in intervals:
        if out and begin <= out[-1][1]:
            if finish > out[-1][1]:
                out[-1] = (out[-1][0], finish)
        else:
            out.append((begin, finish))
    return out


def _intersect(first: list[Interval], second: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    i = j = 0
    while i < len(first) and j < len(second):
        begin = max(first[i][0], second[j][0])
        finish = min(first[i][1], second[j][1])
        if begin < finish:
            out.append((begin, finish))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return out


def _subtract(base: list[Interval], holes: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    j = 0
    for begin, finish in base:
        at = begin
        while j < len(holes) and holes[j][1] <= at:
            j += 1
        k = j
        while k < len(holes) and holes[k][0] < finish:
            if holes[k][0] > at:
                out.append((at, holes[k][0]))
            at = max(at, holes[k][1])
            k += 1
        if at < finish:
            out.append((at, finish))
    return out


def _date_range(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
