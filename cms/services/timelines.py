"""What plays when on a board: the database's boards (and, as they arrive, playlists
and schedule rules) handed to the pure resolver in `scheduler.resolver`."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cms.errors import ValidationFailed
from cms.models import Screen
from cms.services.playback import EARLIEST, LATEST
from scheduler.model import Board, DailyWindow, Rule, Timeline
from scheduler.resolver import resolve

MAX_SPAN = timedelta(days=31)


def board_for(screen: Screen) -> Board:
    """The resolver's view of a board; 00:00-00:00 means lit all day."""
    from cms.services.rules import resolver_playlist

    lit_all_day = screen.opens_at == screen.closes_at == time(0, 0)
    hours = None if lit_all_day else DailyWindow(screen.opens_at, screen.closes_at)
    return Board(board_id=screen.id, time_zone=screen.timezone, operating_hours=hours, group=screen.group_name or None,
                 fallback=resolver_playlist(screen.fallback_playlist))


def rules_for(screens: list[Screen]) -> list[Rule]:
    """Schedule rules in effect on these boards (see cms.services.rules)."""
    from cms.services.rules import resolver_rules

    return resolver_rules(screens)


def parse_instant(text: str, zone: str) -> datetime:
    """An ISO date-time; without an offset it is the board's local time."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed("%(text)s is not an ISO date and time (e.g. 2024-06-05T00:00:00+07:00).",
                               code="timeline_bad_time", text=text) from None
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(zone))


def timeline_for(screen: Screen, start: datetime, end: datetime) -> Timeline:
    if end <= start:
        raise ValidationFailed("The end must come after the start.", code="timeline_bad_range")
    if end - start > MAX_SPAN:
        raise ValidationFailed("Ask for at most 31 days at a time.", code="timeline_too_long")
    if start < EARLIEST or end > LATEST:
        raise ValidationFailed("Ask for times between the years 2000 and 2100.", code="timeline_out_of_range")
    return resolve([board_for(screen)], rules_for([screen]), start, end)[screen.id]


def describe_timeline(timeline: Timeline, zone: str) -> dict[str, Any]:
    local = ZoneInfo(zone)

    def when(value: datetime) -> str:
        return value.astimezone(local).isoformat()

    return {
        "board_id": timeline.board_id, "start": when(timeline.start), "end": when(timeline.end),
        "segments": [
            {"start": when(s.start), "end": when(s.end), "kind": s.kind, "rule_id": s.rule_id,
             "playlist_id": s.playlist_id, "truncated": s.truncated,
             "plays": [{"start": when(p.start), "end": when(p.end), "asset_id": p.asset_id, "campaign_id": p.campaign_id,
                        "item_index": p.item_index, "truncated": p.truncated} for p in s.plays]}
            for s in timeline.segments
        ],
        "starved": [{"rule_id": s.rule_id, "asked_seconds": s.asked_seconds, "got_seconds": s.got_seconds}
                    for s in timeline.starved],
    }
