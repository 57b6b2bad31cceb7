"""The play counts kept at ingestion agree with a brute-force count over the raw plays:
per board and campaign, on each board's local days, under repeated, reordered, weeks-late
and future plays and plays running past local midnight; and a rebuild gives the same."""
from __future__ import annotations

import math
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from board_calls import make_manifest, new_board
from cms.extensions import db
from cms.models import NO_CAMPAIGN, PlayDaily, PlaybackEvent, PlayHourly, PlaylogChain, PlaylogChainDay, Screen
from cms.services.play_stats import Totals, brute_force_totals, daily_totals, rebuild_aggregates
from cms.services.playback import Play, ingest_plays
from conftest import Accounts

ZONES = ("Asia/Ho_Chi_Minh", "UTC", "America/Los_Angeles")
CAMPAIGN = 4  # what make_manifest names for its assets; other assets have no campaign
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)  # Los Angeles moved to summer time on 8 March


@pytest.fixture
def boards(client, app: Flask, accounts: Accounts) -> list[int]:  # type: ignore[no-untyped-def]
    ids = []
    for n, zone in enumerate(ZONES):
        board, _secret = new_board(client, accounts.token("operator"), f"STATS-{n}")
        make_manifest(app, board, 1, (10, 11))
        with app.app_context():
            db.session.execute(update(Screen).where(Screen.id == board).values(timezone=zone))
            db.session.commit()
        ids.append(board)
    return ids


def _forget_plays() -> None:
    for model in (PlayHourly, PlayDaily, PlaybackEvent, PlaylogChainDay, PlaylogChain):
        db.session.execute(delete(model))
    db.session.commit()


def _same(kept: Totals, counted: Totals) -> None:
    assert (kept.plays, kept.boards, kept.first_start, kept.last_end) == (
        counted.plays, counted.boards, counted.first_start, counted.last_end)
    assert math.isclose(kept.airtime_seconds, counted.airtime_seconds, abs_tol=1e-6)


# (board, asset, start as seconds from NOW, length in milliseconds): from six weeks late to a day ahead.
a_play = st.tuples(st.integers(0, len(ZONES) - 1), st.sampled_from((10, 11, 99)),
                   st.integers(-42 * 86400, 86400), st.integers(0, 3 * 3600 * 1000))


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pool=st.lists(a_play, min_size=1, max_size=40),
       batches=st.lists(st.lists(st.integers(0, 39), max_size=30), min_size=1, max_size=6),
       window=st.tuples(st.integers(-45, 2), st.integers(0, 10)))
def test_kept_counts_equal_a_count_of_the_raw_plays(app: Flask, boards: list[int], pool, batches,  # type: ignore[no-untyped-def]
                                                    window) -> None:
    plays = [(boards[b], Play(str(uuid.UUID(int=n + 1)), asset, 1, NOW + timedelta(seconds=start),
                              NOW + timedelta(seconds=start, milliseconds=length), None))
             for n, (b, asset, start, length) in enumerate(pool)]
    with app.app_context():
        _forget_plays()
        for batch in batches:  # indices past the pool repeat plays already sent
            by_board: dict[int, list[Play]] = defaultdict(list)
            for index in batch:
                board, play = plays[index % len(plays)]
                by_board[board].append(play)
            for board, sent in by_board.items():
                ingest_plays(db.session.get(Screen, board), sent, NOW)
        first_day = NOW.date() + timedelta(days=window[0])
        ranges = [(None, None), (first_day, first_day + timedelta(days=window[1]))]
        questions = [(campaign, board, *dates) for campaign in (None, CAMPAIGN, NO_CAMPAIGN)
                     for board in (None, *boards) for dates in ranges]
        for question in questions:
            _same(daily_totals(*question), brute_force_totals(*question))
        _each_kept_day_is_right()
        _hours_add_up_to_days()
        rebuild_aggregates()
        for question in questions:
            _same(daily_totals(*question), brute_force_totals(*question))
        _each_kept_day_is_right()


def _each_kept_day_is_right() -> None:
    """Every kept (board, campaign, local day) row against the raw plays of that day, and no play left out."""
    counted = 0
    for board, campaign, day in db.session.execute(select(PlayDaily.screen_id, PlayDaily.campaign_id, PlayDaily.day)):
        question = (campaign, board, day, day)
        truth = brute_force_totals(*question)
        _same(daily_totals(*question), truth)
        counted += truth.plays
    assert counted == brute_force_totals().plays


def _hours_add_up_to_days() -> None:
    hours: dict[tuple[int, int, date], list[float]] = defaultdict(lambda: [0, 0.0])
    for row in db.session.scalars(select(PlayHourly)):
        assert 0 <= row.hour <= 23
        hours[(row.screen_id, row.campaign_id, row.day)][0] += row.plays
        hours[(row.screen_id, row.campaign_id, row.day)][1] += row.airtime_seconds
    days = {(r.screen_id, r.campaign_id, r.day): r for r in db.session.scalars(select(PlayDaily))}
    assert set(hours) == set(days)
    for key, (plays, airtime) in hours.items():
        assert plays == days[key].plays and math.isclose(airtime, days[key].airtime_seconds, abs_tol=1e-6)


def test_a_play_is_counted_on_the_local_day_and_hour_it_started(app: Flask, boards: list[int]) -> None:
    vietnam = boards[0]
    start = datetime(2026, 3, 19, 16, 30, tzinfo=UTC)  # 23:30 in Hồ Chí Minh City, running past midnight
    play = Play(str(uuid.uuid4()), 10, 1, start, start + timedelta(hours=1), None)
    with app.app_context():
        screen = db.session.get(Screen, vietnam)
        ingest_plays(screen, [play], NOW)
        ingest_plays(screen, [play], NOW)  # sent again: stored and counted once
        day = db.session.scalars(select(PlayDaily)).one()
        hour = db.session.scalars(select(PlayHourly)).one()
        totals = daily_totals(CAMPAIGN, vietnam, date(2026, 3, 19), date(2026, 3, 19))
    assert (day.campaign_id, day.day, day.plays, day.airtime_seconds) == (CAMPAIGN, date(2026, 3, 19), 1, 3600.0)
    assert (hour.day, hour.hour) == (date(2026, 3, 19), 23)
    assert (totals.plays, totals.boards, totals.first_start, totals.last_end) == (1, 1, start, start + timedelta(hours=1))
