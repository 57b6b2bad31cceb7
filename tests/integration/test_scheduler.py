"""The scheduler's work, in one process against the real database and a simulator
reached over HTTP on 127.0.0.1: manifests versioned only on change, pushes recorded,
an unreachable board retried with backoff while the others go on."""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from cms.extensions import db
from cms.models import BoardSync, Manifest, PushAttempt
from cms.services.manifests import reconcile, window_for
from conftest import Accounts
from display_adapters.simulator_server import SimulatorServer
from schedule_setup import Clock, published_playlist, simulator_board
from scheduler.service import SchedulerService

NOW = datetime(2024, 6, 5, 1, 0, tzinfo=UTC)  # 08:00 in Vũng Tàu, inside task 4's June 2024


@pytest.fixture
def simulator() -> Iterator[SimulatorServer]:
    server = SimulatorServer().start()
    yield server
    server.stop()


def versions(app: Flask) -> dict[int, int]:
    with app.app_context():
        return {s.screen_id: s.latest_version for s in db.session.scalars(select(BoardSync))}


def test_a_manifest_is_made_once_and_again_only_when_the_schedule_changes(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    editor, approver, operator = accounts.token("editor"), accounts.token("approver"), accounts.token("operator")
    screen_id = simulator_board(client, operator, "VT-01")
    playlist = published_playlist(client, app, editor, approver)
    config = app.config["PANOLED"]
    with app.app_context():
        first = reconcile(config, NOW)
        again = reconcile(config, NOW + timedelta(minutes=5))
    assert first.new_versions == {screen_id: 1} and again.new_versions == {} and again.rebuilt == 0
    client.post("/api/v1/rules", headers=editor, json={"playlist_id": playlist, "board_ids": [screen_id], "windows": ["07:00-09:00"]})
    with app.app_context():
        changed = reconcile(config, NOW + timedelta(minutes=6))
        manifest = db.session.scalar(select(Manifest).where(Manifest.screen_id == screen_id, Manifest.version == 2))
        assert manifest is not None
        body = manifest.body
    assert changed.new_versions == {screen_id: 2}
    start, end = window_for(NOW, config.scheduler)
    assert body["valid_from"] == start.isoformat().replace("+00:00", "Z") and end - NOW >= timedelta(hours=48)
    fills = [s for s in body["segments"] if s["kind"] == "fill"]
    assert fills and fills[0]["start"] == "2024-06-05T00:00:00Z" and fills[0]["end"] == "2024-06-05T02:00:00Z"
    assert [m["asset_id"] for m in body["media"]] == [body["playlists"][0]["items"][0]["asset_id"]]
    assert body["media"][0]["ready"] is True and len(body["media"][0]["sha256"]) == 64


def test_a_change_outside_the_window_makes_no_new_version(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    editor, approver, operator = accounts.token("editor"), accounts.token("approver"), accounts.token("operator")
    screen_id = simulator_board(client, operator, "VT-01")
    playlist = published_playlist(client, app, editor, approver)
    config = app.config["PANOLED"]
    with app.app_context():
        reconcile(config, NOW)
    client.post("/api/v1/rules", headers=editor, json={"playlist_id": playlist, "board_ids": [screen_id],
                                                        "date_from": "2024-06-20", "date_to": "2024-06-21"})
    with app.app_context():
        assert reconcile(config, NOW).new_versions == {}
        assert reconcile(config, datetime(2024, 6, 19, 1, 0, tzinfo=UTC)).new_versions == {screen_id: 2}


def test_pushes_reach_the_board_and_every_attempt_is_recorded(client, app: Flask, accounts: Accounts, imported_plan: Any,
                                                              simulator: SimulatorServer) -> None:
    editor, approver, operator = accounts.token("editor"), accounts.token("approver"), accounts.token("operator")
    screen_id = simulator_board(client, operator, "VT-01", simulator.url)
    playlist = published_playlist(client, app, editor, approver)
    client.post("/api/v1/rules", headers=editor, json={"playlist_id": playlist, "board_ids": [screen_id]})
    service = SchedulerService(app, name="test", clock=Clock(NOW))
    assert service.run_once() == (1, 1)
    assert service.run_once() == (0, 0)  # nothing changed: nothing pushed
    board = simulator.boards.board("VT-01")
    assert board.accepted == [1] and board.manifest is not None and board.manifest["screen"]["id"] == screen_id
    with app.app_context():
        attempt = db.session.scalar(select(PushAttempt))
        sync = db.session.get(BoardSync, screen_id)
        assert attempt is not None and sync is not None
        assert (attempt.version, attempt.result, attempt.scheduler) == (1, "ok", "test") and attempt.latency_ms > 0
        assert sync.acknowledged_version == 1 and sync.failures == 0


def test_an_unreachable_board_gets_the_newest_manifest_when_back_and_the_others_are_not_held_up(
        client, app: Flask, accounts: Accounts, imported_plan: Any, simulator: SimulatorServer) -> None:
    editor, approver, operator = accounts.token("editor"), accounts.token("approver"), accounts.token("operator")
    down = simulator_board(client, operator, "VT-DOWN", simulator.url)
    slow = simulator_board(client, operator, "VT-SLOW", simulator.url)
    up = simulator_board(client, operator, "VT-UP", simulator.url)
    first = published_playlist(client, app, editor, approver, seed=1)
    client.post("/api/v1/rules", headers=editor, json={"playlist_id": first, "board_ids": [down, slow, up]})
    simulator.boards.fault("VT-DOWN").offline_until = float("inf")  # unplugged: connections drop unanswered
    simulator.boards.fault("VT-SLOW").slow_seconds = 3  # answers after the push timeout below
    clock = Clock(NOW)
    app.config["PANOLED"] = _with_scheduler(app, push_timeout_seconds=1.0, backoff_base_seconds=60, backoff_max_seconds=600)
    service = SchedulerService(app, name="test", clock=clock)
    service.run_once()
    with app.app_context():
        attempts = {a.screen_id: a for a in db.session.scalars(select(PushAttempt))}
        held = db.session.get(BoardSync, down)
        assert held is not None and held.failures == 1 and held.next_attempt_at is not None
        retry_in = (held.next_attempt_at - NOW).total_seconds()
    assert (attempts[down].result, attempts[slow].result, attempts[up].result) == ("retry", "timeout", "ok")
    assert 30 <= retry_in <= 60 + 2  # the first retry after half to all of the base delay

    second = published_playlist(client, app, editor, approver, seed=2)
    client.post("/api/v1/rules", headers=editor, json={"playlist_id": second, "board_ids": [down, slow, up], "priority": 5})
    clock.at = NOW + timedelta(seconds=5)
    service.run_once()  # version 2 everywhere; the failed boards are not due yet, so they are not tried
    assert simulator.boards.board("VT-UP").accepted == [1, 2]
    assert simulator.boards.board("VT-DOWN").accepted == []
    simulator.boards.fault("VT-DOWN").offline_until = 0
    simulator.boards.fault("VT-SLOW").slow_seconds = 0
    clock.at = NOW + timedelta(seconds=70)
    service.run_once()
    assert simulator.boards.board("VT-DOWN").accepted == [2]  # straight to the newest, never the older one
    assert simulator.boards.board("VT-SLOW").accepted[-1] == 2  # (it took 1 late: that acknowledgement was lost)
    assert versions(app) == {down: 2, slow: 2, up: 2}
    with app.app_context():
        tried = [(a.screen_id, a.version, a.result) for a in db.session.scalars(select(PushAttempt).order_by(PushAttempt.id))]
        assert all(s.acknowledged_version == 2 and s.failures == 0 for s in db.session.scalars(select(BoardSync)))
    assert tried.count((down, 1, "retry")) == 1 and (down, 2, "ok") in tried and (down, 1, "ok") not in tried


def test_a_board_never_takes_an_older_version(simulator: SimulatorServer) -> None:
    from display_adapters.base import BoardRef
    from display_adapters.simulator import SimulatorAdapter

    adapter = SimulatorAdapter(BoardRef(1, "VT-01", "simulator", 960, 320, {"url": simulator.url}), timeout=2)
    assert adapter.push_manifest({"version": 3}).accepted
    older = adapter.push_manifest({"version": 2})
    assert not older.accepted and older.current_version == 3
    assert adapter.push_manifest({"version": 3}).accepted  # the same again is fine (a retried push)
    assert simulator.boards.board("VT-01").accepted == [3] and simulator.boards.board("VT-01").refused == [2]


def _with_scheduler(app: Flask, **values: Any) -> Any:
    import dataclasses

    config = app.config["PANOLED"]
    return dataclasses.replace(config, scheduler=dataclasses.replace(config.scheduler, **values))


def test_leadership_is_exclusive_on_this_database(app: Flask, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from scheduler.leader import leadership_for

    config = app.config["PANOLED"]
    first, second = (leadership_for(config.database_url, config.data_dir, name) for name in ("first", "second"))
    try:
        assert first.try_acquire() and first.still_held()
        assert not second.try_acquire() and not second.still_held()
        # A stand-by can say who leads: the lock holder's name on PostgreSQL, its pid on SQLite.
        assert ("panoled-scheduler first" if config.database_url.startswith("postgresql") else str(os.getpid())) in second.holder()
        first.release()
        assert second.try_acquire() and second.still_held()
    finally:
        first.release()
        second.release()


def test_window_moves_in_whole_steps(app: Flask) -> None:
    settings = app.config["PANOLED"].scheduler
    a = window_for(datetime(2024, 6, 5, 1, 0, tzinfo=UTC), settings)
    b = window_for(datetime(2024, 6, 5, 5, 59, tzinfo=UTC), settings)
    c = window_for(datetime(2024, 6, 5, 6, 0, tzinfo=UTC), settings)
    assert a == b != c and a[0] == datetime(2024, 6, 5, 0, 0, tzinfo=UTC)
    for start, end in (a, c):
        assert end - start == timedelta(hours=settings.lookahead_hours + settings.refresh_hours)


def test_a_board_that_holds_on_is_not_waited_for(client, app: Flask, accounts: Accounts, imported_plan: Any,
                                                  simulator: SimulatorServer) -> None:
    """The first board in line does not answer until released; the others are pushed meanwhile."""
    import threading

    editor, approver, operator = accounts.token("editor"), accounts.token("approver"), accounts.token("operator")
    codes = ("VT-HOLD", "VT-A", "VT-B", "VT-C")
    ids = [simulator_board(client, operator, code, simulator.url) for code in codes]
    playlist = published_playlist(client, app, editor, approver)
    client.post("/api/v1/rules", headers=editor, json={"playlist_id": playlist, "board_ids": ids})
    release = threading.Event()
    simulator.boards.fault("VT-HOLD").hold = release
    service = SchedulerService(app, name="test", clock=Clock(NOW))
    pushing = threading.Thread(target=service.run_once)
    pushing.start()
    try:
        deadline = __import__("time").monotonic() + 30
        while not all(simulator.boards.board(c).accepted == [1] for c in codes[1:]):
            assert __import__("time").monotonic() < deadline, "the other boards waited for the one holding on"
            __import__("time").sleep(0.05)
        assert simulator.boards.board("VT-HOLD").accepted == []  # still held: the others did not wait for it
    finally:
        release.set()
        pushing.join(timeout=60)
    assert simulator.boards.board("VT-HOLD").accepted == [1]


def test_a_board_holding_a_higher_version_gets_one_numbered_above_it(client, app: Flask, accounts: Accounts,
                                                                     imported_plan: Any, simulator: SimulatorServer) -> None:
    """Say the database was restored from a backup: the board keeps version 10, ours start again at 1."""
    from display_adapters.base import BoardRef
    from display_adapters.simulator import SimulatorAdapter

    editor, approver, operator = accounts.token("editor"), accounts.token("approver"), accounts.token("operator")
    screen_id = simulator_board(client, operator, "VT-OLD", simulator.url)
    SimulatorAdapter(BoardRef(screen_id, "VT-OLD", "simulator", 960, 320, {"url": simulator.url}), 2).push_manifest({"version": 10})
    clock = Clock(NOW)
    service = SchedulerService(app, name="test", clock=clock)
    service.run_once()  # version 1 is refused: the board says it has 10
    for step in range(1, 4):
        clock.at = NOW + timedelta(seconds=config_seconds(app) * step + 1)
        service.run_once()
    board = simulator.boards.board("VT-OLD")
    assert board.refused == [1] and board.accepted == [10, 11]
    with app.app_context():
        results = [(a.version, a.result) for a in db.session.scalars(select(PushAttempt).order_by(PushAttempt.id))]
        sync = db.session.get(BoardSync, screen_id)
        assert sync is not None and (sync.latest_version, sync.acknowledged_version) == (11, 11)
    assert results == [(1, "stale"), (11, "ok")]  # no hammering the board with the refused version


def config_seconds(app: Flask) -> int:
    return app.config["PANOLED"].scheduler.reconcile_seconds


def test_old_manifests_are_removed_but_each_boards_newest_stays(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    editor, approver, operator = accounts.token("editor"), accounts.token("approver"), accounts.token("operator")
    quiet = simulator_board(client, operator, "VT-QUIET", group="Elsewhere")
    busy = simulator_board(client, operator, "VT-BUSY")
    playlist = published_playlist(client, app, editor, approver)
    config = app.config["PANOLED"]
    long_ago = NOW - timedelta(days=config.scheduler.keep_manifest_days + 5)
    with app.app_context():
        assert reconcile(config, long_ago).new_versions == {quiet: 1, busy: 1}
    client.post("/api/v1/rules", headers=editor, json={"playlist_id": playlist, "board_ids": [busy]})
    with app.app_context():
        assert reconcile(config, NOW).new_versions == {quiet: 2, busy: 2}  # a new window for both, a new rule for one
        kept = sorted((m.screen_id, m.version) for m in db.session.scalars(select(Manifest)))
    assert kept == [(quiet, 2), (busy, 2)]


@pytest.mark.skipif("postgresql" not in __import__("os").environ.get("PANOLED_DATABASE__URL", ""),
                    reason="the advisory lock is PostgreSQL's; SQLite's file lock cannot be taken away")
def test_a_leader_whose_database_session_is_cut_stops_leading_and_stands_by_again(app: Flask) -> None:
    import threading
    import time

    from sqlalchemy import text

    from scheduler.leader import LOCK_KEY

    service = SchedulerService(app, name="cut")
    runner = threading.Thread(target=service.run, daemon=True)
    runner.start()
    try:
        assert service.leading.wait(30)
        with app.app_context():
            cut = db.session.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND objid = CAST(:low AS oid)"), {"low": LOCK_KEY & 0xFFFFFFFF}).scalars().all()
            db.session.commit()
        assert cut == [True] and service.terms == 1
        deadline = time.monotonic() + 30
        while service.terms < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        # It noticed, stopped its jobs, stood by, and (nobody else leading) took a new lock.
        assert service.terms == 2 and service.leading.is_set()
    finally:
        service.stop()
        runner.join(timeout=30)
    if runner.is_alive():
        import sys
        import traceback
        stacks = "\n".join(f"--- {t.name}\n" + "".join(traceback.format_stack(sys._current_frames()[t.ident]))
                           for t in threading.enumerate() if t.ident in sys._current_frames())
        pytest.fail(f"the scheduler did not stop when asked; its threads:\n{stacks}")
    with app.app_context():
        left = db.session.execute(text("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'panoled-scheduler cut'"))
        assert left.scalar() == 0, "its lock's session was closed"
        db.session.remove()


def test_a_leader_stopped_in_the_middle_of_a_reconcile_stops_and_frees_the_lock(app: Flask, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The reconcile still running when the term ends plans its next boundary; that
    must not hold up the end of the term (nor the lock a stand-by waits for)."""
    import threading
    import time

    import cms.services.manifests as manifests

    from scheduler.leader import leadership_for

    in_reconcile = threading.Event()
    real = manifests.reconcile

    def slow_reconcile(*args, **kwargs):  # type: ignore[no-untyped-def]
        in_reconcile.set()
        time.sleep(2)
        return real(*args, **kwargs)

    monkeypatch.setattr(manifests, "reconcile", slow_reconcile)
    service = SchedulerService(app, name="stopped")
    runner = threading.Thread(target=service.run, daemon=True)
    runner.start()
    try:
        assert in_reconcile.wait(30)
        service.stop()
        runner.join(timeout=30)
        assert not runner.is_alive(), "the term ended while its reconcile was running"
        config = app.config["PANOLED"]
        other = leadership_for(config.database_url, config.data_dir, "next")
        assert other.try_acquire(), "the lock is free for the next leader"
        other.release()
    finally:
        service.stop()


class RunningClock:
    """The schedule's time running with the real one from `start`, as APScheduler's does."""

    def __init__(self, start: datetime) -> None:
        self.start, self.started = start, time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.started)


def test_a_change_made_between_reconciles_reaches_the_board_at_the_next_segment_boundary(
        client, app: Flask, accounts: Accounts, imported_plan: Any, simulator: SimulatorServer) -> None:
    """The safety interval is an hour, so only the reconcile planned for the rule's
    window starting at 08:00 (01:00 UTC), 20 seconds after the start, can pick up
    the rule added once the board has version 1."""
    editor, approver, operator = accounts.token("editor"), accounts.token("approver"), accounts.token("operator")
    screen_id = simulator_board(client, operator, "VT-EDGE", simulator.url)
    morning, takeover = (published_playlist(client, app, editor, approver, seed=seed) for seed in (1, 2))
    first = client.post("/api/v1/rules", headers=editor, json={"playlist_id": morning, "board_ids": [screen_id],
                                                                "windows": ["08:00-09:00"]})
    assert first.status_code == 201, first.get_json()
    boundary = datetime(2024, 6, 5, 1, 0, tzinfo=UTC)
    # No minimum gap after the start's reconcile, and 20 s for a loaded machine to start the service.
    app.config["PANOLED"] = _with_scheduler(app, reconcile_seconds=3600, boundary_min_seconds=0)
    service = SchedulerService(app, name="edge", clock=RunningClock(boundary - timedelta(seconds=20)))
    board = simulator.boards.board("VT-EDGE")
    runner = threading.Thread(target=service.run, daemon=True)
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while board.accepted != [1]:
            assert time.monotonic() < deadline, "the start's reconcile did not reach the board"
            time.sleep(0.05)
        added = client.post("/api/v1/rules", headers=editor, json={"playlist_id": takeover, "board_ids": [screen_id],
                                                                    "priority": 5})
        assert added.status_code == 201, added.get_json()
        assert service.clock() < boundary, "the set-up took too long: the boundary passed before the change"
        deadline = time.monotonic() + 20
        while board.accepted != [1, 2]:
            assert time.monotonic() < deadline, "the change waited for the safety interval"
            time.sleep(0.05)
    finally:
        service.stop()
        runner.join(timeout=30)
    assert not runner.is_alive()
    with app.app_context():
        made = db.session.scalar(select(Manifest.created_at)
                                 .where(Manifest.screen_id == screen_id, Manifest.version == 2))
    assert made is not None
    made = made if made.tzinfo else made.replace(tzinfo=UTC)
    assert boundary <= made < boundary + timedelta(seconds=5)  # at the boundary, not before it and not long after
    assert board.manifest is not None
    assert {s["playlist_id"] for s in board.manifest["segments"]} == {takeover}  # what the board was pushed
