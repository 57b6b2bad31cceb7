"""Which boards the scheduler pushes to, and with what key: a web player pulls its
manifests and is never pushed to; an http-json board gets signed pushes its
controller verifies with the key derived from the secret it was shown."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask

from cms.extensions import db
from cms.models import Screen
from cms.services.manifests import due_pushes, reconcile
from conftest import Accounts
from display_adapters.http_json_receiver import HttpJsonReceiver
from display_adapters.signing import board_key
from schedule_setup import published_playlist
from scheduler.service import SchedulerService

NOW = datetime(2024, 6, 5, 1, 0, tzinfo=UTC)


def add_board(client: Any, operator: dict[str, str], code: str, kind: str, options: dict[str, str]) -> dict[str, Any]:
    response = client.post("/api/v1/screens", headers=operator, json={
        "name": f"Bảng {code}", "code": code, "width": 960, "height": 320, "adapter": kind, "group": "Vũng Tàu",
        "operating_hours": "00:00-24:00", "adapter_options": options})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_web_player_is_never_pushed_to_and_an_http_json_board_gets_signed_pushes(
        client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    editor, approver, operator = accounts.token("editor"), accounts.token("approver"), accounts.token("operator")
    player = add_board(client, operator, "VT-KIOSK", "webplayer", {})
    controller = add_board(client, operator, "VT-JSON", "http-json", {"url": "http://127.0.0.1:9"})
    key = board_key(controller["secret"])  # what the integrator configures from the secret shown once
    receiver = HttpJsonReceiver(key).start()
    try:
        with app.app_context():
            screen = db.session.get(Screen, controller["id"])
            assert screen is not None
            screen.adapter_options = {"url": receiver.url}
            db.session.commit()
        playlist = published_playlist(client, app, editor, approver)
        client.post("/api/v1/rules", headers=editor, json={"playlist_id": playlist,
                                                           "board_ids": [player["id"], controller["id"]]})
        with app.app_context():
            assert set(reconcile(app.config["PANOLED"], NOW).new_versions) == {player["id"], controller["id"]}
            due = due_pushes(NOW, set(), 100)
            assert [job.board.code for job in due] == ["VT-JSON"]
            assert due[0].board.signing_key == key
        SchedulerService(app, name="test", clock=lambda: NOW).run_once()
        assert receiver.state.accepted == [1] and receiver.state.board == "VT-JSON"
    finally:
        receiver.stop()
