"""What a board shows at any instant, worked out from its manifest alone.

A manifest's segments say which playlist plays from when to when, starting at
which item; items then follow back to back, looping, until the segment ends (the
last play cut short when the segment ends first). `Programme` computes that with
whole microseconds, exactly as `scheduler.model.Segment.plays` does, without
listing a day's plays: `play_at(instant)` answers by arithmetic, and
`plays_between(start, end)` lists only the plays that lie wholly inside a span.
"""
from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

ONE_US = timedelta(microseconds=1)


def parse_instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"instant {text!r} has no time zone")
    return moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class ScreenPlay:
    """One item on screen: from `start` to `end` (cut short at the segment's end when `truncated`)."""

    start: datetime
    end: datetime
    asset_id: int
    campaign_id: int | None
    kind: str
    rule_id: int | None
    playlist_id: int
    item_index: int
    truncated: bool = False


@dataclass(frozen=True)
class _Segment:
    start: datetime
    end: datetime
    kind: str
    rule_id: int | None
    playlist_id: int | None
    first_item: int
    items: tuple[tuple[int, int | None, int], ...]  # (asset id, campaign id, duration in µs)

    @property
    def pass_us(self) -> int:
        return sum(item[2] for item in self.items)


class Programme:
    """A manifest's timeline, ready to answer "what plays now?"."""

    def __init__(self, manifest: Mapping[str, Any]) -> None:
        playlists: dict[int, tuple[tuple[int, int | None, int], ...]] = {}
        for playlist in manifest.get("playlists") or ():
            playlists[int(playlist["playlist_id"])] = tuple(
                (int(i["asset_id"]), i.get("campaign_id"), round(float(i["duration"]) * 1_000_000))
                for i in playlist["items"])
        segments = []
        for raw in manifest.get("segments") or ():
            playlist_id = raw.get("playlist_id")
            items = playlists.get(int(playlist_id), ()) if playlist_id is not None else ()
            if playlist_id is not None and (not items or any(d < 1 for _, _, d in items)):
                raise ValueError(f"segment at {raw.get('start')} names playlist {playlist_id}, which has no playable items")
            segments.append(_Segment(parse_instant(raw["start"]), parse_instant(raw["end"]), str(raw.get("kind", "")),
                                     raw.get("rule_id"), playlist_id, int(raw.get("first_item") or 0), items))
        segments.sort(key=lambda s: s.start)
        self.version: int = int(manifest.get("version") or 0)
        self._segments = segments
        self._starts = [s.start for s in segments]

    def segment_at(self, instant: datetime) -> _Segment | None:
        index = bisect.bisect_right(self._starts, instant) - 1
        if index < 0:
            return None
        segment = self._segments[index]
        return segment if segment.start <= instant < segment.end else None

    def play_at(self, instant: datetime) -> ScreenPlay | None:
        """What is on screen at `instant`; None when the board is dark or idle."""
        segment = self.segment_at(instant)
        if segment is None or not segment.items:
            return None
        elapsed = (instant - segment.start) // ONE_US
        passes, into = divmod(elapsed, segment.pass_us)
        at_us = passes * segment.pass_us
        index = segment.first_item % len(segment.items)
        # Walk at most one pass to the item playing `into` the current pass.
        while True:
            duration = segment.items[index][2]
            if into < duration:
                break
            into -= duration
            at_us += duration
            index = (index + 1) % len(segment.items)
        return self._play(segment, segment.start + at_us * ONE_US, index)

    def plays_between(self, start: datetime, end: datetime) -> list[ScreenPlay]:
        """Every play lying wholly inside [start, end], in order."""
        return list(self._iter_from(start, end))

    def _iter_from(self, start: datetime, end: datetime) -> Iterator[ScreenPlay]:
        first = max(bisect.bisect_right(self._starts, start) - 1, 0)
        for segment in self._segments[first:]:
            if segment.start >= end:
                return
            if segment.end <= start or not segment.items:
                continue
            play = self.play_at(max(start, segment.start))
            while play is not None and play.start < end:
                if play.start >= start and play.end <= end:
                    yield play
                if play.end >= segment.end:
                    break
                play = self._play(segment, play.end, (play.item_index + 1) % len(segment.items))

    @staticmethod
    def _play(segment: _Segment, start: datetime, index: int) -> ScreenPlay:
        asset_id, campaign_id, duration = segment.items[index]
        stop = start + duration * ONE_US
        cut = stop > segment.end
        return ScreenPlay(start, segment.end if cut else stop, asset_id, campaign_id, segment.kind, segment.rule_id,
                          int(segment.playlist_id or 0), index, cut)
