"""Plays are kept exactly once when many boards post at the same time over real HTTP.

The app is served by a threaded HTTP server on 127.0.0.1 and 50 boards post their
plays from many threads at once: each board's plays split into several batches,
sent in shuffled order, some batches sent twice (the two copies at the same
moment), and some plays in two different batches. Afterwards each play is stored
once, each uuid was answered `new` exactly once, every board's chain verifies and
the kept counts equal a count of the raw plays.
"""
from __future__ import annotations

import json
import math
import queue
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from board_calls import bearer, make_manifest, new_board
from cms.extensions import db
from cms.models import NO_CAMPAIGN, PlaybackEvent, Screen
from cms.services import play_stats, playlog_chain
from conftest import Accounts
from display_adapters.signing import board_key, signed_headers
from web_session import served

BOARDS = 50
PLAYS_PER_BOARD = 120
BATCHES_PER_BOARD = 5
CAMPAIGN = 4  # what make_manifest names for its assets; asset 99 has no campaign


@dataclass(frozen=True)
class Send:
    """One POST of a batch; `twin` is set on the two copies of a batch sent at the same moment."""

    board: int
    secret: str
    plays: list[dict[str, Any]]
    stamp: int  # each send of a board signs with its own timestamp, as a retrying board does: not a replay
    twin: threading.Barrier | None = None


@dataclass(frozen=True)
class Answer:
    board: int
    status: int
    body: dict[str, Any]
    sent: list[str]


def _plays(rng: random.Random, now: datetime) -> list[dict[str, Any]]:
    """A board's plays over its last three days, so they fall on several local days and hours."""
    plays = []
    for _ in range(PLAYS_PER_BOARD):
        start = now - timedelta(seconds=rng.randrange(60, 3 * 86400))
        plays.append({"event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "asset_id": rng.choice((11, 12, 99)),
                      "manifest_version": 1, "start": start.isoformat(),
                      "end": (start + timedelta(seconds=rng.choice((10, 15, 30)))).isoformat(), "frame_hash": None})
    return plays


def _sends_for(rng: random.Random, board: int, secret: str, plays: list[dict[str, Any]], now: int) -> list[list[Send]]:
    """A board's sends in groups; a group of two is one batch sent twice at the same moment."""
    stamps = iter(range(now, now - 60, -1))
    shuffled = rng.sample(plays, len(plays))
    size = math.ceil(len(shuffled) / BATCHES_PER_BOARD)
    batches = [shuffled[i:i + size] for i in range(0, len(shuffled), size)]
    # Overlap: a few plays of each batch ride along in the next one too.
    batches = [batch + rng.sample(batches[(n + 1) % len(batches)], 3) for n, batch in enumerate(batches)]
    groups = [[Send(board, secret, rng.sample(batch, len(batch)), next(stamps))] for batch in batches]
    twin = threading.Barrier(2, timeout=30)
    groups.append([Send(board, secret, batches[0], next(stamps), twin), Send(board, secret, batches[0], next(stamps), twin)])
    groups.append([Send(board, secret, list(reversed(batches[-1])), next(stamps))])  # sent again later, reordered
    return groups


def _post(session: requests.Session, base: str, send: Send) -> Answer:
    raw = json.dumps({"plays": send.plays}).encode()
    headers = bearer(send.secret) | {"Content-Type": "application/json"} | signed_headers(
        board_key(send.secret), raw, send.stamp)
    if send.twin is not None:
        send.twin.wait()
    answer = session.post(f"{base}/api/v1/screens/{send.board}/playlogs", data=raw, headers=headers, timeout=60)
    body = answer.json() if answer.headers.get("Content-Type", "").startswith("application/json") else {}
    return Answer(send.board, answer.status_code, body, [p["event_id"] for p in send.plays])


def _post_all(base: str, sends: list[Send], threads: int) -> list[Answer]:
    """Every send, by `threads` threads started together, each with its own keep-alive session.
    The two copies of a twin batch are next to each other in the queue, so two threads take
    them one after the other and post them at the same moment."""
    work: queue.SimpleQueue[Send] = queue.SimpleQueue()
    for send in sends:
        work.put(send)
    answers: list[Answer] = []
    failures: list[BaseException] = []
    start = threading.Barrier(threads)

    def worker() -> None:
        with requests.Session() as session:
            start.wait()
            while True:
                try:
                    send = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    answers.append(_post(session, base, send))
                except BaseException as error:  # noqa: BLE001 - reported by the test thread
                    failures.append(error)
                    return

    pool = [threading.Thread(target=worker, name=f"board-{n}") for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in pool), "posting threads did not finish"
    assert not failures, failures
    return answers


def test_plays_from_50_boards_at_once_are_kept_exactly_once(client, app: Flask, accounts: Accounts) -> None:  # type: ignore[no-untyped-def]
    on_postgresql = app.config["PANOLED"].database.url.startswith("postgresql")
    # SQLite has one writer at a time: the same batches, from fewer threads, still overlap.
    threads = 60 if on_postgresql else 16
    rng = random.Random(20240605)
    now = datetime.now(UTC)
    operator = accounts.token("operator")
    sent: dict[int, set[str]] = {}
    groups: list[list[Send]] = []
    for n in range(BOARDS):
        board, secret = new_board(client, operator, f"LOAD-{n:02d}")
        make_manifest(app, board, 1, (11, 12))
        plays = _plays(rng, now)
        sent[board] = {p["event_id"] for p in plays}
        groups += _sends_for(rng, board, secret, plays, int(time.time()))
    rng.shuffle(groups)
    sends = [send for group in groups for send in group]

    with served(app) as base:
        answers = _post_all(base, sends, threads)

    assert len(answers) == len(sends)
    refused = [(a.board, a.status, a.body) for a in answers if a.status != 200]
    assert not refused, refused[:5]
    new_count: Counter[str] = Counter()
    for answer in answers:
        assert sorted(answer.body["new"] + answer.body["duplicates"]) == sorted(answer.sent)
        new_count.update(answer.body["new"])
    every_uuid = set().union(*sent.values())
    assert set(new_count) == every_uuid and set(new_count.values()) == {1}, "each play answered new exactly once"

    with app.app_context():
        stored: dict[int, Counter[str]] = defaultdict(Counter)
        for screen_id, event_id in db.session.execute(select(PlaybackEvent.screen_id, PlaybackEvent.event_id)):
            stored[screen_id][event_id] += 1
        for board, uuids in sent.items():
            assert set(stored[board]) == uuids and set(stored[board].values()) == {1}, f"board {board}"
        for screen in db.session.scalars(select(Screen).order_by(Screen.id)):
            report = playlog_chain.verify(screen)
            assert report.ok and report.entries == report.head_seq == PLAYS_PER_BOARD, report
        for campaign in (None, CAMPAIGN, NO_CAMPAIGN):
            kept, counted = play_stats.daily_totals(campaign), play_stats.brute_force_totals(campaign)
            assert (kept.plays, kept.boards, kept.first_start, kept.last_end) == (
                counted.plays, counted.boards, counted.first_start, counted.last_end)
            assert math.isclose(kept.airtime_seconds, counted.airtime_seconds, abs_tol=1e-6)
        for board in list(sent)[:5]:  # and per board, on each of its local days
            for day in {d.date() for d in (now - timedelta(days=k) for k in range(4))}:
                kept = play_stats.daily_totals(screen_id=board, date_from=day, date_to=day)
                counted = play_stats.brute_force_totals(screen_id=board, date_from=day, date_to=day)
                assert (kept.plays, kept.first_start, kept.last_end) == (counted.plays, counted.first_start,
                                                                          counted.last_end)
        assert db.session.scalar(select(func.count()).select_from(PlaybackEvent)) == BOARDS * PLAYS_PER_BOARD
