"""The planned plays kept per board, campaign and local hour agree with counting the
timeline's complete plays one by one; a new plan changes only the hours still to
come; the hour under way keeps the plan it began with."""
from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from board_calls import new_board
from cms.extensions import db
from cms.models import NO_CAMPAIGN, PlanHour, PlannedDaily, PlannedHourly, Screen
from cms.services.plan_record import record_plan
from conftest import Accounts
from scheduler.model import Item, Playlist, Segment, Timeline

ZONES = ("Asia/Ho_Chi_Minh", "Asia/Kolkata", "UTC")  # Kolkata: local hours start at half past UTC hours
START = datetime(2026, 3, 20, 0, 0, tzinfo=UTC)


@pytest.fixture
def board(client, accounts: Accounts) -> int:  # type: ignore[no-untyped-def]
    screen_id, _secret = new_board(client, accounts.token("operator"), "PLAN-01")
    return screen_id


def timeline_of(pieces: list[tuple[int, int, list[tuple[int | None, int]], int, bool]]) -> Timeline:
    """Segments back to back from START: (gap before in s, length in s, items (campaign, ms), first item, cut)."""
    at, segments = START, []
    for n, (gap, length, items, first, cut) in enumerate(pieces):
        at += timedelta(seconds=gap)
        playlist = Playlist(n + 1, tuple(Item(100 + i, campaign, ms / 1000) for i, (campaign, ms) in enumerate(items)))
        segments.append(Segment(at, at + timedelta(seconds=length), "scheduled", rule_id=n + 1, playlist_id=n + 1,
                                first_item=first % len(items), truncated=cut, playlist=playlist))
        at += timedelta(seconds=length)
    return Timeline(1, START, max(at, START + timedelta(hours=1)), tuple(segments))


def expected(timeline: Timeline, zone: str, since: datetime) -> dict[tuple[int, datetime], tuple[int, float]]:
    from zoneinfo import ZoneInfo

    counts: dict[tuple[int, datetime], list[float]] = defaultdict(lambda: [0, 0.0])
    for segment in timeline.segments:
        for play in segment.plays:
            if play.truncated or play.start < since:
                continue
            local = play.start.astimezone(ZoneInfo(zone)).replace(minute=0, second=0, microsecond=0)
            key = (play.campaign_id if play.campaign_id is not None else NO_CAMPAIGN, local.astimezone(UTC))
            counts[key][0] += 1
            counts[key][1] += (play.end - play.start).total_seconds()
    return {k: (int(v[0]), v[1]) for k, v in counts.items()}


def kept(screen_id: int) -> dict[tuple[int, datetime], tuple[int, float]]:
    rows = db.session.scalars(select(PlannedHourly).where(PlannedHourly.screen_id == screen_id))
    return {(r.campaign_id, r.hour_start): (r.plays, r.seconds) for r in rows}


def _same(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for key, (plays, seconds) in want.items():
        assert got[key][0] == plays, key
        assert got[key][1] == pytest.approx(seconds, abs=1e-6), key


a_piece = st.tuples(st.integers(0, 5400), st.integers(1, 4 * 3600),
                    st.lists(st.tuples(st.sampled_from((None, 3, 4)), st.integers(500, 900_000)), min_size=1, max_size=4),
                    st.integers(0, 3), st.booleans())


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(a_piece, min_size=1, max_size=5), zone=st.sampled_from(ZONES))
def test_planned_plays_per_hour_are_the_timelines_complete_plays(app: Flask, board: int, pieces: list, zone: str) -> None:
    timeline = timeline_of(pieces)
    with app.app_context():
        db.session.execute(delete(PlannedHourly))
        db.session.execute(delete(PlannedDaily))
        db.session.execute(delete(PlanHour))
        db.session.execute(update(Screen).where(Screen.id == board).values(timezone=zone))
        record_plan(board, zone, timeline, START)  # the first plan: counted from "now" = its start
        db.session.commit()
        _same(kept(board), expected(timeline, zone, START))
        by_day: dict = defaultdict(int)
        for row in db.session.scalars(select(PlannedHourly)):
            by_day[(row.campaign_id, row.day)] += row.plays
        assert {(r.campaign_id, r.day): r.plays for r in db.session.scalars(select(PlannedDaily))} == by_day
        lit = sum(db.session.scalars(select(PlanHour.lit_seconds).where(PlanHour.screen_id == board)))
        assert lit == pytest.approx(sum(s.seconds for s in timeline.segments), abs=1e-3)


def test_a_new_plan_changes_the_hours_to_come_and_the_hour_under_way_keeps_its_own(app: Flask, board: int) -> None:
    zone = "Asia/Ho_Chi_Minh"
    first = timeline_of([(0, 6 * 3600, [(3, 10_000)], 0, False)])  # campaign 3 all along
    second = timeline_of([(0, 6 * 3600, [(4, 10_000)], 0, False)])  # then campaign 4 instead
    changed_at = START + timedelta(hours=2, minutes=20)
    with app.app_context():
        record_plan(board, zone, first, START)
        record_plan(board, zone, second, changed_at)
        db.session.commit()
        rows = kept(board)
    by_hour = {hour: campaign for campaign, hour in rows}
    assert [by_hour[START + timedelta(hours=h)] for h in range(6)] == [3, 3, 3, 4, 4, 4]
    assert all(plays == 360 for plays, _ in rows.values())  # 10 s items: 360 an hour


def test_hours_outside_operating_hours_are_recorded_as_dark(app: Flask, board: int) -> None:
    zone = "UTC"
    timeline = timeline_of([(2 * 3600, 3600, [(3, 60_000)], 0, False)])  # lit 02:00-03:00 only, window until 03:00
    with app.app_context():
        record_plan(board, zone, timeline, START)
        db.session.commit()
        hours = {r.hour: r.lit_seconds for r in db.session.scalars(select(PlanHour).where(PlanHour.screen_id == board))}
    assert hours == {0: 0.0, 1: 0.0, 2: 3600.0}


@pytest.mark.parametrize("zone", ["Europe/London", "America/St_Johns", "Australia/Lord_Howe", "Asia/Kathmandu",
                                  "Asia/Kolkata", "Asia/Ho_Chi_Minh"])
def test_the_local_hour_of_an_instant_is_the_same_worked_out_once_per_quarter_hour(zone: str) -> None:
    """Counting reuses a quarter hour's answer; around each clock change of 2026 (30 minutes on
    Lord Howe Island, 45-minute offsets in Kathmandu) every second of the hours either side gives
    what the zone's own offset gives."""
    from zoneinfo import ZoneInfo

    from cms.services.plan_record import _Hours, _us

    tz = ZoneInfo(zone)
    changes = [START]  # and every instant of 2026 where the zone's offset changes
    at = datetime(2026, 1, 1, tzinfo=UTC)
    while at < datetime(2027, 1, 1, tzinfo=UTC):
        if at.astimezone(tz).utcoffset() != (at + timedelta(hours=1)).astimezone(tz).utcoffset():
            changes.append(at)
        at += timedelta(hours=1)
    assert len(changes) == (1 if zone.startswith("Asia") else 3)
    hours = _Hours(zone)
    for change in changes:
        for second in range(0, 4 * 3600, 7):  # from 1 h before the change to 3 h after, every 7 s
            us = _us(change - timedelta(hours=1) + timedelta(seconds=second))
            local = (EPOCH_UTC + timedelta(microseconds=us)).astimezone(tz)
            offset = local.utcoffset() // timedelta(microseconds=1)
            assert hours.start_of(us) == (us + offset) // 3_600_000_000 * 3_600_000_000 - offset, (zone, local)


EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
