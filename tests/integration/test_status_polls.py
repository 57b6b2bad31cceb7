"""Boards that cannot call in (VNNOX) are polled for their status by the leading scheduler,
and their health is made of the answers: online, last seen, the offline alert.

The cloud is the local FAKE of NovaCloud (tests/fakes/vnnox_fake.py), a real HTTP server
on 127.0.0.1; a dead status endpoint is a real socket that never answers."""
from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from board_calls import make_manifest, new_board, sync_of
from cms.extensions import db
from cms.models import BoardHealth, Screen
from conftest import Accounts
from fakes.vnnox_fake import VnnoxFake
from manifest_samples import POSTER, VIDEO, sample_manifest
from schedule_setup import Clock, simulator_board
from scheduler.service import SchedulerService

APP_KEY, APP_SECRET = "fake-app-key", "fake-app-secret"


@pytest.fixture
def cloud() -> Iterator[VnnoxFake]:
    fake = VnnoxFake(APP_KEY, APP_SECRET, ["player-1", "player-2", "player-3", "player-4"]).start()
    yield fake
    fake.stop()


def vnnox_board(client: Any, operator: dict[str, str], code: str, player: str, base_url: str) -> int:
    answer = client.post("/api/v1/screens", headers=operator, json={
        "name": f"Bảng {code}", "code": code, "width": 960, "height": 320, "adapter": "novastar-vnnox",
        "group": "Vũng Tàu", "operating_hours": "00:00-24:00",
        "adapter_options": {"app_key": APP_KEY, "app_secret": APP_SECRET, "player_id": player, "base_url": base_url,
                            "media_base_url": f"{base_url}/files"}})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["id"]


def registered_long_ago(app: Flask, *screen_ids: int) -> None:
    with app.app_context():
        for screen_id in screen_ids:
            db.session.get(Screen, screen_id).created_at = datetime.now(UTC) - timedelta(hours=2)
        db.session.commit()


def last_seen(app: Flask, screen_id: int) -> datetime | None:
    with app.app_context():
        health = db.session.get(BoardHealth, screen_id)
        return health.last_seen_at if health else None


def offline_alerts(app: Flask, now: datetime) -> set[str]:
    from cms.services.board_health import board_alerts

    with app.app_context():
        return {a.code for a in board_alerts(app.config["PANOLED"].boards, now) if a.kind == "offline"}


def with_scheduler(app: Flask, **values: Any) -> None:
    config = app.config["PANOLED"]
    app.config["PANOLED"] = dataclasses.replace(config, scheduler=dataclasses.replace(config.scheduler, **values))


def test_a_vnnox_board_the_cloud_reports_online_shows_online_with_its_last_seen_time_after_one_poll(
        client, app: Flask, accounts: Accounts, cloud: VnnoxFake) -> None:
    operator = accounts.token("operator")
    board = vnnox_board(client, operator, "VN-UP", "player-1", cloud.url)
    before = client.get("/api/v1/screens/status", headers=operator).get_json()["boards"][0]["health"]
    assert before["online"] is False and before["last_seen_at"] is None

    # Version 2 handed to the player (as the scheduler's push does): the status answer carries it.
    from display_adapters.base import BoardRef
    from display_adapters.vnnox import VnnoxAdapter

    cloud.publish("/api/v1/screens/1/media/7", POSTER)
    cloud.publish("/api/v1/screens/1/media/8", VIDEO)
    options = {"app_key": APP_KEY, "app_secret": APP_SECRET, "player_id": "player-1", "base_url": cloud.url,
               "media_base_url": f"{cloud.url}/files"}
    assert VnnoxAdapter(BoardRef(board, "VN-UP", "novastar-vnnox", 960, 320, options), 2).push_manifest(
        sample_manifest(2)).accepted
    make_manifest(app, board, 2)

    seen_at = datetime.now(UTC).replace(microsecond=0)
    assert SchedulerService(app, name="test", clock=Clock(seen_at)).poll_once() == 1
    row = client.get("/api/v1/screens/status", headers=operator).get_json()["boards"][0]
    assert row["health"]["online"] is True and row["health"]["heartbeat_version"] == 2
    assert datetime.fromisoformat(row["health"]["last_seen_at"]) == seen_at
    # Shown, not acknowledged: the cloud only repeats what the driver handed it; pushes acknowledge.
    assert sync_of(app, board)[1] == 0

    accounts.login("editor")
    shown = seen_at.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y %H:%M")
    on_air = client.get("/screens/on-air").get_data(as_text=True)
    assert on_air.count('data-online="true"') == 1 and shown in on_air
    detail = client.get(f"/screens/{board}").get_data(as_text=True)
    health = detail[detail.index('id="health-head"'):]
    assert '<span class="badge ok">' in health.split("</dl>")[0] and shown in health



def test_a_polled_board_offline_for_15_minutes_is_an_alert_until_it_answers_again(
        client, app: Flask, accounts: Accounts, cloud: VnnoxFake) -> None:
    board = vnnox_board(client, accounts.token("operator"), "VN-NAP", "player-1", cloud.url)
    registered_long_ago(app, board)
    start = datetime.now(UTC)
    clock = Clock(start)
    service = SchedulerService(app, name="test", clock=clock)
    assert service.poll_once() == 1 and offline_alerts(app, start) == set()

    cloud.state.players["player-1"] = False  # VNNOX says the player is offline
    for minutes in range(1, 21):  # a poll a minute, as boards.status_poll_seconds has it
        clock.at = start + timedelta(minutes=minutes)
        assert service.poll_once() == 0
    assert last_seen(app, board) == start
    # Offline after three polls unseen (3 min); an alert once offline for 15 min more.
    assert offline_alerts(app, start + timedelta(minutes=17, seconds=59)) == set()
    assert offline_alerts(app, start + timedelta(minutes=18)) == {"VN-NAP"}

    cloud.state.players["player-1"] = True
    clock.at = start + timedelta(minutes=21)
    assert service.poll_once() == 1
    assert offline_alerts(app, clock.at) == set()

    cloud.state.unavailable = True  # the cloud stops answering (503): not seen either
    clock.at = start + timedelta(minutes=22)
    assert service.poll_once() == 0
    assert offline_alerts(app, start + timedelta(minutes=21 + 18)) == {"VN-NAP"}


def test_a_dead_status_endpoint_holds_up_no_other_board(client, app: Flask, accounts: Accounts,
                                                        cloud: VnnoxFake) -> None:
    """The dead endpoint takes connections and never answers; with two workers it holds one
    for its timeout while the other asks every other board."""
    operator = accounts.token("operator")
    dead_end = socket.create_server(("127.0.0.1", 0))  # never accepts: calls wait in its backlog, unanswered
    try:
        dead = vnnox_board(client, operator, "VN-DEAD", "player-1", f"http://127.0.0.1:{dead_end.getsockname()[1]}")
        live = [vnnox_board(client, operator, f"VN-LIVE-{n}", f"player-{n}", cloud.url) for n in (2, 3, 4)]
        timeout = 10.0  # the live boards' calls, a tenth of a second apart, have 9 s on a loaded machine
        with_scheduler(app, push_workers=2, push_timeout_seconds=timeout)
        service = SchedulerService(app, name="test", clock=Clock(datetime.now(UTC)))
        answered: list[int] = []
        started = time.monotonic()
        polling = threading.Thread(target=lambda: answered.append(service.poll_once()))
        polling.start()
        while not all(last_seen(app, board) for board in live):
            assert time.monotonic() - started < timeout - 1, "the other boards waited for the dead one"
            time.sleep(0.05)
        assert polling.is_alive()  # the dead board's call is still waiting out its timeout
        polling.join(timeout=30)
        took = time.monotonic() - started
    finally:
        dead_end.close()
    assert not polling.is_alive() and answered == [3]
    assert timeout <= took < timeout + 10  # the dead call ends with its timeout, and the round with it
    assert last_seen(app, dead) is None


def test_boards_that_call_in_are_left_to_their_heartbeats(client, app: Flask, accounts: Accounts,
                                                          cloud: VnnoxFake) -> None:
    from cms.services.board_health import polled_boards

    operator = accounts.token("operator")
    polled = vnnox_board(client, operator, "VN-POLLED", "player-1", cloud.url)
    switched_off = vnnox_board(client, operator, "VN-OFF", "player-2", cloud.url)
    simulated = simulator_board(client, operator, "SIM-IN")  # in this process: would answer "online" if asked
    player, _secret = new_board(client, operator, "WEB-IN", "webplayer")
    with app.app_context():
        db.session.get(Screen, switched_off).active = False
        db.session.commit()
        assert [board.code for board in polled_boards()] == ["VN-POLLED"]
    assert SchedulerService(app, name="test", clock=Clock(datetime.now(UTC))).poll_once() == 1
    assert last_seen(app, polled) is not None
    assert last_seen(app, switched_off) is None and last_seen(app, simulated) is None and last_seen(app, player) is None


def test_the_leading_scheduler_polls_when_its_term_begins(client, app: Flask, accounts: Accounts,
                                                          cloud: VnnoxFake) -> None:
    board = vnnox_board(client, accounts.token("operator"), "VN-LEAD", "player-1", cloud.url)
    service = SchedulerService(app, name="leader")
    runner = threading.Thread(target=service.run, daemon=True)
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while last_seen(app, board) is None:
            assert time.monotonic() < deadline, "the leader did not poll the board"
            time.sleep(0.1)
    finally:
        service.stop()
        runner.join(timeout=30)
    assert not runner.is_alive()
