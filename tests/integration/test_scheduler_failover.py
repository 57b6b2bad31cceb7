"""Two real `panoled scheduler run` processes on the test database (PostgreSQL in CI's
second run, SQLite in the first): one leads, the other stands by; the leader is
SIGKILLed in the middle of pushing; the stand-by takes over within 30 s, and every
board ends on the newest manifest without ever taking an older one."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from cms.extensions import db
from cms.models import BoardSync, Manifest, PushAttempt
from conftest import Accounts
from display_adapters.simulator_server import SimulatorServer
from processes import Processes, wait_for
from schedule_setup import published_playlist, simulator_board

BOARDS = ("HCM-01", "HCM-02", "HCM-03", "HCM-04")


@pytest.fixture
def simulator() -> Iterator[SimulatorServer]:
    server = SimulatorServer().start()
    yield server
    server.stop()


class Schedulers(Processes):
    """Two schedulers quick to react, so the test is short."""

    def __init__(self, app: Flask, tmp_path: Path) -> None:
        super().__init__(app.config["PANOLED"], tmp_path, PANOLED_SCHEDULER__RECONCILE_SECONDS="1",
                         PANOLED_SCHEDULER__STANDBY_POLL_SECONDS="1", PANOLED_SCHEDULER__PUSH_TIMEOUT_SECONDS="5",
                         PANOLED_SCHEDULER__BACKOFF_BASE_SECONDS="0.5", PANOLED_SCHEDULER__BACKOFF_MAX_SECONDS="2",
                         PANOLED_SCHEDULER__BOUNDARY_MIN_SECONDS="1")


def test_the_stand_by_takes_over_when_the_leader_is_killed_mid_push(
        client, app: Flask, accounts: Accounts, imported_plan: Any, simulator: SimulatorServer, tmp_path: Path) -> None:
    editor, approver, operator = accounts.token("editor"), accounts.token("approver"), accounts.token("operator")
    ids = [simulator_board(client, operator, code, simulator.url) for code in BOARDS]
    playlists = [published_playlist(client, app, editor, approver, seed=n) for n in range(1, 5)]
    today = date.today()
    priority = iter(range(1, 100))

    def change(playlist: int) -> None:
        """A new rule above the others: every board's manifest changes."""
        response = client.post("/api/v1/rules", headers=editor, json={
            "playlist_id": playlist, "board_ids": ids, "priority": next(priority),
            "date_from": (today - timedelta(days=1)).isoformat(), "date_to": (today + timedelta(days=3)).isoformat()})
        assert response.status_code == 201

    def latest() -> dict[int, int]:
        with app.app_context():
            rows = {s.screen_id: s.latest_version for s in db.session.scalars(select(BoardSync))}
            db.session.remove()
            return rows

    def on_boards() -> dict[int, int]:
        return {i: simulator.boards.board(code).current_version for i, code in zip(ids, BOARDS)}

    def all_current() -> bool:
        wanted = latest()
        return len(wanted) == len(ids) and all(v > 0 for v in wanted.values()) and on_boards() == wanted

    def change_and_wait(playlist: int) -> dict[int, int]:
        before = latest()
        change(playlist)
        wait_for("the leader makes a new version", lambda: all(latest().get(i, 0) > before.get(i, 0) for i in ids), 30)
        return before

    schedulers = Schedulers(app, tmp_path)
    try:
        change(playlists[0])
        schedulers.scheduler("A")
        # Starting a process on a loaded machine can take a while; the 30 s bound is for the take-over.
        wait_for("the first scheduler leads and supplies every board", all_current, 90,
                 lambda: schedulers.log("A")[-3000:])
        schedulers.scheduler("B")
        wait_for("the second scheduler stands by", lambda: "stand-by" in schedulers.log("B"), 30)
        change_and_wait(playlists[1])
        wait_for("the leader pushes the change", all_current, 30)
        with app.app_context():
            pushers = set(db.session.scalars(select(PushAttempt.scheduler).distinct()))
            db.session.remove()
        assert pushers == {"A"}, "only the leader pushes"
        assert "leading" not in schedulers.log("B")

        for n, code in enumerate(BOARDS):  # pushes now take 1 to 4 s: the kill lands in the middle of them
            simulator.boards.fault(code).slow_seconds = 1.0 + n
        before = change_and_wait(playlists[2])
        wait_for("A has pushed to the quickest board", lambda: any(v > before[i] for i, v in on_boards().items()), 30)
        assert not all(v > before[i] for i, v in on_boards().items()), "the others are still being pushed to"
        schedulers.kill("A")
        wait_for("the stand-by leads", lambda: "leading" in schedulers.log("B"), 30, lambda: schedulers.log("B")[-3000:])
        wait_for("every board gets the newest manifest", all_current, 30)
        for code in BOARDS:
            simulator.boards.fault(code).slow_seconds = 0
        change_and_wait(playlists[3])
        wait_for("the new leader pushes the next change", all_current, 30)
    finally:
        schedulers.stop_all()

    with app.app_context():
        newest = dict(db.session.execute(select(Manifest.screen_id, func.max(Manifest.version)).group_by(Manifest.screen_id)).all())
        attempts = [(a.screen_id, a.version, a.result, a.scheduler) for a in db.session.scalars(select(PushAttempt))]
    assert {who for screen_id, version, result, who in attempts if result == "ok" and version == newest[screen_id]} == {"B"}
    for screen_id, code in zip(ids, BOARDS):
        board = simulator.boards.board(code)
        assert board.refused == [], f"{code} was offered an older version"
        assert board.accepted == sorted(set(board.accepted)), f"{code} took versions out of order"
        assert board.current_version == newest[screen_id] >= 4, f"{code} missed a change"
        assert board.manifest is not None and board.manifest["version"] == newest[screen_id]
