"""The Panoled simulator against the real CMS served over HTTP on 127.0.0.1:
schedule -> scheduler push -> the simulated board fetches its media, plays at high
speed -> its plays arrive in the CMS with the right assets and times; and the
faults: a board offline during a push gets the manifest later, and the CMS down
while a board plays loses no play and doubles none."""
from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, make_server

from cms.extensions import db
from cms.models import BoardSync, Manifest, PlaybackEvent, Screen
from cms.services.audit import Actor
from cms.services.simulators import connect_boards
from conftest import Accounts
from display_adapters.playback import Programme
from display_adapters.simulator_server import SimulatorServer
from display_adapters.virtual_board import VirtualBoard
from schedule_setup import published_playlist, simulator_board
from scheduler.service import SchedulerService

SPEED = 600.0  # ten simulated minutes a second: a 15 s poster plays 40 times a second


def wait_for(what: str, check: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds} s")
        time.sleep(0.1)


class CmsServer:
    """The CMS app behind a real HTTP server in a thread; can be stopped and started on the same port."""

    def __init__(self, app: Flask) -> None:
        self.app, self.port = app, 0
        self.server: BaseWSGIServer | None = None
        self.start()

    def start(self) -> None:
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, name="cms", daemon=True).start()

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()
        self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def cms(app: Flask) -> Iterator[CmsServer]:
    server = CmsServer(app)
    yield server
    if server.server is not None:
        server.stop()


@pytest.fixture
def simulator(cms: CmsServer, tmp_path: Path) -> Iterator[SimulatorServer]:
    server = SimulatorServer(cms_url=cms.url, state_dir=tmp_path / "simulator", speed=SPEED, upload_seconds=0.3,
                             retry_base_seconds=0.2, retry_max_seconds=1.0, heartbeat_seconds=1.0).start()
    yield server
    server.stop()


class Clock:
    """The scheduler's time: running with the real one, from a minute into the current
    manifest step, so moving it on by minutes never crosses into the next step (which
    would make a new manifest version whatever the time of day the test runs at)."""

    def __init__(self, step_hours: int) -> None:
        now = datetime.now(UTC)
        step = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=now.hour % step_hours)
        self.base, self.started, self.offset = step + timedelta(minutes=1), time.monotonic(), timedelta()

    def __call__(self) -> datetime:
        return self.base + timedelta(seconds=time.monotonic() - self.started) + self.offset


def scheduled_board(client: Any, app: Flask, accounts: Accounts, simulator: SimulatorServer, code: str) -> tuple[int, VirtualBoard]:
    """A board in the simulator, with a poster scheduled all day from today, connected with a fresh secret."""
    editor, approver, operator = accounts.token("editor"), accounts.token("approver"), accounts.token("operator")
    screen_id = simulator_board(client, operator, code, simulator.url)
    playlist = published_playlist(client, app, editor, approver)
    today = datetime.now(UTC).date()
    rule = client.post("/api/v1/rules", headers=editor, json={
        "playlist_id": playlist, "board_ids": [screen_id], "date_from": (today - timedelta(days=1)).isoformat(),
        "date_to": (today + timedelta(days=3)).isoformat()})
    assert rule.status_code == 201, rule.get_json()
    with app.app_context():
        identities = connect_boards([db.session.get(Screen, screen_id)], simulator.url, Actor.command_line())
    return screen_id, simulator.add_board(identities[0])


def events(app: Flask, screen_id: int) -> list[PlaybackEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(PlaybackEvent).where(PlaybackEvent.screen_id == screen_id)
                                       .order_by(PlaybackEvent.started_at)))
        db.session.expunge_all()
        return rows


def manifest(app: Flask, screen_id: int, version: int) -> dict[str, Any]:
    with app.app_context():
        row = db.session.scalar(select(Manifest).where(Manifest.screen_id == screen_id, Manifest.version == version))
        assert row is not None
        return row.body


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_a_pushed_manifest_is_fetched_played_and_its_plays_reach_the_cms(
        client, app: Flask, accounts: Accounts, imported_plan: Any, cms: CmsServer, simulator: SimulatorServer) -> None:
    screen_id, board = scheduled_board(client, app, accounts, simulator, "SIM-E2E")
    assert SchedulerService(app, name="test").run_once() == (1, 1)
    wait_for("the board plays manifest 1", lambda: board.playing_version == 1)
    body = manifest(app, screen_id, 1)
    poster = body["media"][0]
    assert board.media_path(poster).stat().st_size == poster["bytes"]  # fetched over HTTP and checked
    wait_for("50 plays in the CMS", lambda: len(events(app, screen_id)) >= 50)
    plays = events(app, screen_id)
    expected = {(p.start, p.end): p for p in Programme(body).plays_between(
        aware(plays[0].started_at), aware(plays[-1].ended_at))}
    assert [(aware(e.started_at), aware(e.ended_at)) for e in plays] == sorted(expected)  # every play, in order, none twice
    assert {e.asset_id for e in plays} == {poster["asset_id"]}
    assert {e.campaign_id for e in plays} == {poster["campaign_id"]} and {e.manifest_version for e in plays} == {1}
    assert all(aware(e.ended_at) - aware(e.started_at) == timedelta(seconds=15) for e in plays)
    state = requests.get(f"{simulator.url}/screens/SIM-E2E/state", timeout=5).json()
    assert state["playing_version"] == 1 and state["now_playing"]["asset_id"] == poster["asset_id"]
    frame = requests.get(f"{simulator.url}/screens/SIM-E2E/frame.png", timeout=5)
    assert frame.headers["Content-Type"] == "image/png" and frame.content[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image
    import io

    assert Image.open(io.BytesIO(frame.content)).size == (960, 320)
    wall = requests.get(f"{simulator.url}/", timeout=5)
    assert "SIM-E2E" in wall.text and "<script" not in wall.text
    with app.app_context():
        sync = db.session.get(BoardSync, screen_id)
        assert sync is not None and sync.acknowledged_version == 1


def test_an_unsigned_push_to_a_board_with_a_key_is_refused(
        client, app: Flask, accounts: Accounts, imported_plan: Any, simulator: SimulatorServer) -> None:
    scheduled_board(client, app, accounts, simulator, "SIM-KEY")
    answer = requests.post(f"{simulator.url}/screens/SIM-KEY/manifest", json={"version": 5}, timeout=5)
    assert answer.status_code == 401 and "signature" in answer.json()["error"]
    assert simulator.boards.board("SIM-KEY").current_version == 0


def test_a_board_offline_during_a_push_gets_the_manifest_later_and_a_lost_answer_costs_nothing(
        client, app: Flask, accounts: Accounts, imported_plan: Any, cms: CmsServer, simulator: SimulatorServer) -> None:
    screen_id, board = scheduled_board(client, app, accounts, simulator, "SIM-OFF")
    assert requests.post(f"{simulator.url}/screens/SIM-OFF/faults", json={"offline_seconds": 3600}, timeout=5).ok
    clock = Clock(app.config["PANOLED"].scheduler.refresh_hours)
    service = SchedulerService(app, name="test", clock=clock)
    service.run_once()
    assert board.playing_version is None and simulator.boards.board("SIM-OFF").accepted == []
    with app.app_context():
        sync = db.session.get(BoardSync, screen_id)
        assert sync is not None and sync.acknowledged_version == 0 and sync.failures == 1
    # Back online, but the first answer is lost on the way: the board took the manifest all the same.
    assert requests.post(f"{simulator.url}/screens/SIM-OFF/faults", json={"offline_seconds": 0, "lost_acks": 1},
                         timeout=5).ok
    clock.offset = timedelta(minutes=10)
    service.run_once()
    assert simulator.boards.board("SIM-OFF").accepted == [1]
    clock.offset = timedelta(minutes=20)
    service.run_once()  # pushed again: the board says it holds it
    with app.app_context():
        sync = db.session.get(BoardSync, screen_id)
        assert sync is not None and sync.acknowledged_version == 1
    assert simulator.boards.board("SIM-OFF").accepted == [1] and simulator.boards.board("SIM-OFF").refused == []
    wait_for("the board plays manifest 1", lambda: board.playing_version == 1)


def test_plays_made_while_the_cms_is_down_arrive_once_when_it_is_back(
        client, app: Flask, accounts: Accounts, imported_plan: Any, cms: CmsServer, simulator: SimulatorServer) -> None:
    screen_id, board = scheduled_board(client, app, accounts, simulator, "SIM-CMS")
    SchedulerService(app, name="test").run_once()
    wait_for("the board plays", lambda: board.playing_version == 1)
    wait_for("plays arrive", lambda: len(events(app, screen_id)) >= 5)
    cms.stop()
    wait_for("plays wait in the board's queue", lambda: len(board.queue) >= 40)
    assert board.describe()["upload_error"]
    cms.start()
    wait_for("the queue empties", lambda: len(board.queue) == 0, seconds=40)
    simulator.stop()  # nothing more is played: what the CMS holds is the whole story
    plays = events(app, screen_id)
    assert len({e.event_id for e in plays}) == len(plays)
    starts = [aware(e.started_at) for e in plays]
    ends = [aware(e.ended_at) for e in plays]
    assert starts[1:] == ends[:-1], "a play is missing or doubled"  # one poster looping: back to back
    assert len(plays) >= 45


def test_simulator_run_provisions_its_boards_and_never_prints_their_secrets(app: Flask, tmp_path: Path) -> None:
    import os
    import signal
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = app.config["PANOLED"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PANOLED_")} | {
        "PANOLED_DATABASE__URL": config.database_url, "PANOLED_STORAGE__DATA_DIR": str(config.data_dir)}
    process = subprocess.Popen([str(Path(sys.executable).parent / "panoled"), "simulator", "run", "--screens", "5",
                                "--port", str(port), "--speed", "60", "--cms", "http://127.0.0.1:9",
                                "--state", str(tmp_path / "state")], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    try:
        def answers() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/screens/SIM-05/state", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        wait_for("the simulator answers", answers, 60)
        state = requests.get(f"http://127.0.0.1:{port}/screens/SIM-05/state", timeout=5).json()
        assert (state["width"], state["height"]) == (1920, 1080)  # sizes cycle: the fifth is the first again
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=30)[0].decode()
    assert process.returncode == 0, output
    with app.app_context():
        boards = list(db.session.scalars(select(Screen).where(Screen.code.like("SIM-%")).order_by(Screen.code)))
        assert [(b.code, b.width, b.height) for b in boards] == [
            ("SIM-01", 1920, 1080), ("SIM-02", 960, 320), ("SIM-03", 768, 384), ("SIM-04", 1440, 480),
            ("SIM-05", 1920, 1080)]
        assert all(b.adapter_options == {"url": f"http://127.0.0.1:{port}", "screen": b.code} for b in boards)
        assert all(b.signing_key for b in boards)
    assert "SIM-01..SIM-05" in output and "pnb_" not in output


def set_faults(simulator: SimulatorServer, board: str, **changes: Any) -> dict[str, Any]:
    """Through the simulator's HTTP `/faults`, as an operator or a test rig would."""
    answer = requests.post(f"{simulator.url}/screens/{board}/faults", json=changes, timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()["faults"]


def board_state(simulator: SimulatorServer, board: str) -> dict[str, Any]:
    answer = requests.get(f"{simulator.url}/screens/{board}/state", timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()


def push_signed(simulator: SimulatorServer, board: VirtualBoard, body: dict[str, Any]) -> requests.Response:
    """A manifest pushed as the scheduler does, signed with the board's key."""
    from display_adapters.signing import signed_headers

    data = json.dumps(body).encode("utf-8")
    return requests.post(f"{simulator.url}/screens/{board.identity.code}/manifest", data=data, timeout=5,
                         headers=signed_headers(board.identity.key, data) | {"Content-Type": "application/json"})


def test_a_board_whose_clock_is_off_by_more_than_the_signature_window_keeps_its_plays_until_it_is_right(
        client, app: Flask, accounts: Accounts, imported_plan: Any, cms: CmsServer, simulator: SimulatorServer) -> None:
    """The CMS refuses calls signed more than WINDOW_SECONDS from its time (README, board
    API): the board's plays wait in its queue, not lost, and go once its clock is set."""
    from display_adapters.playlog_queue import PlaylogQueue
    from display_adapters.signing import WINDOW_SECONDS

    screen_id, board = scheduled_board(client, app, accounts, simulator, "SIM-SKEW")
    SchedulerService(app, name="test").run_once()
    wait_for("plays arrive", lambda: len(events(app, screen_id)) >= 5)
    skew = WINDOW_SECONDS * 2
    assert set_faults(simulator, "SIM-SKEW", clock_skew_seconds=skew)["clock_skew_seconds"] == skew

    def refused() -> bool:
        state = board_state(simulator, "SIM-SKEW")
        return "401" in state["upload_error"] and "401" in state["heartbeat_error"]

    wait_for("the CMS refuses the skewed board's plays and heartbeats", refused)
    assert f"more than {WINDOW_SECONDS} s from now" in board_state(simulator, "SIM-SKEW")["upload_error"]
    kept = len(events(app, screen_id))
    wait_for("plays wait in the board's queue", lambda: len(board.queue) >= 40)
    assert len(events(app, screen_id)) == kept  # none taken while the clock is off

    set_faults(simulator, "SIM-SKEW", clock_skew_seconds=0)

    def delivered() -> bool:  # the waiting plays went up (the board goes on playing, so its queue is rarely empty)
        state = board_state(simulator, "SIM-SKEW")
        return state["upload_error"] == state["heartbeat_error"] == "" and len(events(app, screen_id)) > kept + 40

    wait_for("the waiting plays arrive and heartbeats go again", delivered, seconds=40)
    simulator.stop()  # the board records what it finished playing and stops
    queue = PlaylogQueue(board.folder / "playlogs.sqlite3")
    try:
        recorded, unsent = sum(queue.tally().values()), len(queue)
    finally:
        queue.close()
    plays = events(app, screen_id)
    assert len({e.event_id for e in plays}) == len(plays) == recorded - unsent  # every recorded play, once
    assert len(plays) > kept + 40


def test_a_board_whose_disk_is_full_keeps_its_new_manifest_pending_says_why_and_plays_it_once_there_is_room(
        client, app: Flask, accounts: Accounts, imported_plan: Any, cms: CmsServer, simulator: SimulatorServer) -> None:
    screen_id, board = scheduled_board(client, app, accounts, simulator, "SIM-FULL")
    assert set_faults(simulator, "SIM-FULL", disk_full=True)["disk_full"] is True
    assert SchedulerService(app, name="test").run_once() == (1, 1)  # it takes the manifest: it can hold that much
    wait_for("the board says why the manifest waits",
             lambda: "disk full" in board_state(simulator, "SIM-FULL")["pending_error"])
    state = board_state(simulator, "SIM-FULL")
    assert (state["playing_version"], state["pending_version"], state["now_playing"]) == (None, 1, None)
    assert list(board.media_dir.iterdir()) == []  # nothing half-written to play from

    assert set_faults(simulator, "SIM-FULL", disk_full=False)["disk_full"] is False
    wait_for("the board plays manifest 1", lambda: board.playing_version == 1)
    poster = manifest(app, screen_id, 1)["media"][0]
    assert [p.name for p in board.media_dir.iterdir()] == [poster["sha256"]]
    assert hashlib.sha256(board.media_path(poster).read_bytes()).hexdigest() == poster["sha256"]
    assert board_state(simulator, "SIM-FULL")["pending_error"] == ""
    wait_for("its plays reach the CMS", lambda: len(events(app, screen_id)) >= 5)


def test_a_medium_whose_bytes_do_not_match_the_manifests_sha256_is_refused_and_never_played(
        client, app: Flask, accounts: Accounts, imported_plan: Any, cms: CmsServer, simulator: SimulatorServer) -> None:
    screen_id, board = scheduled_board(client, app, accounts, simulator, "SIM-SHA")
    SchedulerService(app, name="test").run_once()
    wait_for("the board plays manifest 1", lambda: board.playing_version == 1)
    good = manifest(app, screen_id, 1)
    poster = good["media"][0]
    # Version 2 names the same file (the CMS serves it) with another checksum.
    wrong = {**poster, "sha256": hashlib.sha256(b"another poster").hexdigest()}
    assert push_signed(simulator, board, {**good, "version": 2, "media": [wrong]}).status_code == 200
    wait_for("the board refuses the download",
             lambda: "SHA-256 does not match" in board_state(simulator, "SIM-SHA")["pending_error"])
    state = board_state(simulator, "SIM-SHA")
    assert (state["playing_version"], state["pending_version"]) == (1, 2)  # it plays on what it had
    assert [p.name for p in board.media_dir.iterdir()] == [poster["sha256"]]  # the refused bytes are not kept

    assert push_signed(simulator, board, {**good, "version": 3}).status_code == 200
    wait_for("the board plays manifest 3", lambda: board.playing_version == 3)
    wait_for("plays of manifest 3 reach the CMS", lambda: 3 in {e.manifest_version for e in events(app, screen_id)})
    assert 2 not in {e.manifest_version for e in events(app, screen_id)}


def test_slow_answers_set_through_faults_time_pushes_out_until_cleared(
        client, app: Flask, accounts: Accounts, imported_plan: Any, cms: CmsServer, simulator: SimulatorServer) -> None:
    import dataclasses

    from cms.models import PushAttempt

    screen_id, board = scheduled_board(client, app, accounts, simulator, "SIM-SLOW")
    wrong = requests.post(f"{simulator.url}/screens/SIM-SLOW/faults", json={"slow_seconds": -1}, timeout=5)
    assert wrong.status_code == 422 and "slow_seconds" in wrong.json()["error"]
    assert set_faults(simulator, "SIM-SLOW", slow_seconds=2)["slow_seconds"] == 2
    assert board_state(simulator, "SIM-SLOW")["faults"]["slow_seconds"] == 2  # its state page answers at once
    config = app.config["PANOLED"]
    app.config["PANOLED"] = dataclasses.replace(
        config, scheduler=dataclasses.replace(config.scheduler, push_timeout_seconds=0.5))
    clock = Clock(config.scheduler.refresh_hours)
    service = SchedulerService(app, name="test", clock=clock)
    service.run_once()
    with app.app_context():
        sync = db.session.get(BoardSync, screen_id)
        assert sync is not None and (sync.acknowledged_version, sync.failures) == (0, 1)
    assert set_faults(simulator, "SIM-SLOW", slow_seconds=0)["slow_seconds"] == 0
    clock.offset = timedelta(minutes=10)
    app.config["PANOLED"] = config  # the shipped push timeout again: a loaded machine may need more than 0.5 s
    SchedulerService(app, name="test", clock=clock).run_once()
    with app.app_context():
        results = [a.result for a in db.session.scalars(select(PushAttempt).order_by(PushAttempt.id))]
        sync = db.session.get(BoardSync, screen_id)
        assert sync is not None and (sync.acknowledged_version, sync.failures) == (1, 0)
    assert results == ["timeout", "ok"]
    wait_for("the board plays manifest 1", lambda: board.playing_version == 1)


def test_a_board_is_reached_by_its_number_as_well_as_by_its_code(
        client, app: Flask, accounts: Accounts, simulator: SimulatorServer) -> None:
    operator = accounts.token("operator")
    ids = [simulator_board(client, operator, code, simulator.url) for code in ("SIM-01", "SIM-02")]
    with app.app_context():
        simulator.add_boards(connect_boards([db.session.get(Screen, i) for i in ids], simulator.url,
                                            Actor.command_line()))

    def get(path: str) -> requests.Response:
        return requests.get(f"{simulator.url}/screens/{path}", timeout=5)

    for number, code, screen_id in ((1, "SIM-01", ids[0]), (2, "SIM-02", ids[1])):
        by_number, by_code = get(f"{number}/frame.png"), get(f"{code}/frame.png")
        assert by_number.status_code == by_code.status_code == 200
        assert by_number.headers["Content-Type"] == "image/png" and by_number.content == by_code.content
        state = get(f"{number}/state").json()
        assert (state["screen"], state["screen_id"]) == (code, screen_id)
    assert get("1/frame.png").content != get("2/frame.png").content  # each its own picture
    assert get("3/frame.png").status_code == 404  # there is no third board
    assert set_faults(simulator, "2", screen_off=True)["screen_off"] is True
    assert simulator.boards.fault("SIM-02").screen_off and not simulator.boards.fault("SIM-01").screen_off


def test_a_simulated_board_sends_a_screenshot_of_what_it_shows_when_an_operator_asks(
        client, app: Flask, accounts: Accounts, imported_plan: Any, cms: CmsServer, simulator: SimulatorServer) -> None:
    import io

    from PIL import Image

    from conftest import csrf_token

    screen_id, board = scheduled_board(client, app, accounts, simulator, "SIM-SHOT")
    SchedulerService(app, name="test").run_once()
    wait_for("the board plays its manifest", lambda: board.playing_version == 1)
    accounts.login("operator")
    assert client.get(f"/screens/{screen_id}/screenshot.png").status_code == 404  # none asked for yet
    asked = client.post(f"/screens/{screen_id}/screenshot",
                        data={"csrf_token": csrf_token(client.get(f"/screens/{screen_id}"))})
    assert asked.status_code == 302
    wait_for("the screenshot comes with a heartbeat", lambda: client.get(f"/screens/{screen_id}/screenshot.png").status_code == 200)
    picture = Image.open(io.BytesIO(client.get(f"/screens/{screen_id}/screenshot.png").data))
    assert picture.format == "PNG" and picture.size == (480, 160)  # the board's 960×320 frame, made small to send
