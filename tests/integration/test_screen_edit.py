"""Changing a board after it is registered: on its page, through the API and the command
line, checked as at registration, audited, and followed by the scheduler."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from cms.cli import main
from cms.extensions import db
from cms.models import AuditEvent, BoardSync, Manifest, Screen
from cms.services.manifests import reconcile
from conftest import Accounts, csrf_token
from display_adapters.simulator_server import SimulatorServer
from schedule_setup import published_playlist, simulator_board
from scheduler.service import SchedulerService

NOW = datetime(2024, 6, 5, 1, 0, tzinfo=UTC)  # 08:00 in Vũng Tàu, inside task 4's June 2024
VNNOX = {"name": "Bảng NovaStar Bà Rịa", "code": "BR-01", "width": 1920, "height": 1080, "adapter": "novastar-vnnox",
         "adapter_options": {"app_key": "key-1", "app_secret": "s3cret-value-1", "player_id": "p-1"}}


@pytest.fixture
def simulators() -> Iterator[tuple[SimulatorServer, SimulatorServer]]:
    first, second = SimulatorServer().start(), SimulatorServer().start()
    yield first, second
    first.stop()
    second.stop()


def stored(app: Flask, screen_id: int) -> Screen:
    with app.app_context():
        screen = db.session.get(Screen, screen_id)
        assert screen is not None
        db.session.expunge(screen)
        return screen


def updates(app: Flask, screen_id: int) -> list[dict[str, Any]]:
    with app.app_context():
        return [e.details for e in db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "screen.update", AuditEvent.object_type == "screen", AuditEvent.object_id == screen_id).order_by(AuditEvent.id))]


def scheduled_board(client: Any, app: Flask, accounts: Accounts, url: str | None = None,
                    hours: str = "00:00-24:00") -> tuple[int, dict[str, str]]:
    """Board VT-01 (on the simulator at `url`) with a published playlist ruled onto it; and the operator's token."""
    editor, approver, operator = accounts.token("editor"), accounts.token("approver"), accounts.token("operator")
    screen_id = simulator_board(client, operator, "VT-01", url, hours=hours)
    playlist = published_playlist(client, app, editor, approver)
    client.post("/api/v1/rules", headers=editor, json={"playlist_id": playlist, "board_ids": [screen_id]})
    return screen_id, operator


def test_an_operator_changes_a_board_through_the_api_and_others_may_not(client, app: Flask, accounts: Accounts) -> None:
    operator = accounts.token("operator")
    screen_id = client.post("/api/v1/screens", headers=operator, json=VNNOX).get_json()["id"]
    for role in ("editor", "approver", "auditor"):
        assert client.patch(f"/api/v1/screens/{screen_id}", headers=accounts.token(role), json={"name": "X"}).status_code == 403
    changed = client.patch(f"/api/v1/screens/{screen_id}", headers=operator, json={
        "operating_hours": "18:00-02:00", "group": "TP Bà Rịa", "latitude": 10.5, "longitude": 107.2})
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert sorted(body["changes"]) == ["group", "latitude", "longitude", "operating_hours"]
    assert (body["operating_hours"], body["group"], body["name"], body["width"]) == ("18:00-02:00", "TP Bà Rịa", VNNOX["name"], 1920)
    # The secret option was not given: it is kept, never shown, never audited.
    assert body["adapter_options"]["app_secret"] == "••••"
    assert stored(app, screen_id).adapter_options["app_secret"] == "s3cret-value-1"
    assert updates(app, screen_id) == [{"code": "BR-01",
                                        "before": {"group": None, "latitude": None, "longitude": None, "operating_hours": "05:30-22:00"},
                                        "after": {"group": "TP Bà Rịa", "latitude": 10.5, "longitude": 107.2, "operating_hours": "18:00-02:00"}}]
    cleared = client.patch(f"/api/v1/screens/{screen_id}", headers=operator, json={"latitude": None, "longitude": None})
    assert cleared.get_json()["latitude"] is None and stored(app, screen_id).longitude is None
    same = client.patch(f"/api/v1/screens/{screen_id}", headers=operator, json={"name": VNNOX["name"]})
    assert same.get_json()["changes"] == [] and len(updates(app, screen_id)) == 2


def test_a_secret_option_given_as_its_mask_is_kept_and_a_new_one_replaces_it(client, app: Flask, accounts: Accounts) -> None:
    operator = accounts.token("operator")
    screen_id = client.post("/api/v1/screens", headers=operator, json=VNNOX).get_json()["id"]
    shown = client.get(f"/api/v1/screens/{screen_id}", headers=operator).get_json()["adapter_options"]
    kept = client.patch(f"/api/v1/screens/{screen_id}", headers=operator,
                        json={"adapter_options": shown | {"player_id": "p-2"}}).get_json()
    assert kept["changes"] == ["adapter_options"]
    assert stored(app, screen_id).adapter_options == {"app_key": "key-1", "app_secret": "s3cret-value-1", "player_id": "p-2"}
    renewed = client.patch(f"/api/v1/screens/{screen_id}", headers=operator,
                           json={"adapter_options": shown | {"player_id": "p-2", "app_secret": "n3w-secret"}}).get_json()
    assert renewed["changes"] == ["adapter_options"]  # the mask shows no difference; the change is still said
    assert stored(app, screen_id).adapter_options["app_secret"] == "n3w-secret"
    assert "s3cret-value-1" not in json.dumps(updates(app, screen_id)) and "n3w-secret" not in json.dumps(updates(app, screen_id))
    # Options given are set over the stored ones; null removes one; a kind given as null is no change.
    client.patch(f"/api/v1/screens/{screen_id}", headers=operator, json={"adapter_options": {"region": "in"}})
    client.patch(f"/api/v1/screens/{screen_id}", headers=operator, json={"adapter_options": {"player_id": "p-3"}, "adapter": None})
    assert stored(app, screen_id).adapter_options == {"app_key": "key-1", "app_secret": "n3w-secret", "player_id": "p-3", "region": "in"}
    client.patch(f"/api/v1/screens/{screen_id}", headers=operator, json={"adapter_options": {"region": None}})
    assert "region" not in stored(app, screen_id).adapter_options


def test_a_code_cleared_in_an_edit_is_made_again(client, app: Flask, accounts: Accounts) -> None:
    operator = accounts.token("operator")
    first = client.post("/api/v1/screens", headers=operator, json=VNNOX | {"code": "BR-01"}).get_json()["id"]
    second = client.post("/api/v1/screens", headers=operator, json=VNNOX | {"code": "BR-02"}).get_json()["id"]
    assert client.patch(f"/api/v1/screens/{first}", headers=operator, json={"code": ""}).get_json()["code"] == f"PNL-{first:03d}"
    assert client.patch(f"/api/v1/screens/{second}", headers=operator, json={"code": " "}).get_json()["code"] == f"PNL-{second:03d}"
    assert client.get(f"/api/v1/screens/{second}", headers=operator).get_json()["code"] == f"PNL-{second:03d}"


@pytest.mark.parametrize("body, code", [
    ({"width": 961}, "screen_size_invalid"),
    ({"operating_hours": "5h-22h"}, "screen_hours_invalid"),
    ({"timezone": "Mars/Base"}, "screen_timezone_invalid"),
    ({"adapter_options": {"app_secret": None}}, "adapter_option_missing"),
    ({"adapter": "http-json"}, "adapter_option_missing"),
    ({"adapter": "http-json", "adapter_options": {"url": "http://127.0.0.1:9/", "app_secret": "••••"}}, "adapter_option_masked"),
    ({"code": "PNL-001"}, "screen_code_taken"),
    ({"active": "no"}, "field_invalid"),
    ({"fallback_playlist_id": 1}, "field_invalid"),
    ({"secret": "pnb_mine"}, "field_invalid"),
    ({"colour": "red"}, "field_invalid"),
])
def test_a_bad_change_is_refused_with_its_reason_and_changes_nothing(client, app: Flask, accounts: Accounts,
                                                                       body: dict[str, Any], code: str) -> None:
    operator = accounts.token("operator")
    client.post("/api/v1/screens", headers=operator, json={"name": "Other", "width": 960, "height": 320, "adapter": "simulator"})
    screen_id = client.post("/api/v1/screens", headers=operator, json=VNNOX).get_json()["id"]
    before = client.get(f"/api/v1/screens/{screen_id}", headers=operator).get_json()
    refused = client.patch(f"/api/v1/screens/{screen_id}", headers=operator, json=body | {"name": "Tên mới"})
    assert refused.status_code in (409, 422) and refused.get_json()["error"]["code"] == code
    assert client.get(f"/api/v1/screens/{screen_id}", headers=operator).get_json() == before
    assert updates(app, screen_id) == []


def test_a_changed_board_gets_a_manifest_made_for_what_it_now_is(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    screen_id, operator = scheduled_board(client, app, accounts, hours="05:30-22:00")
    config = app.config["PANOLED"]
    with app.app_context():
        assert reconcile(config, NOW).new_versions == {screen_id: 1}
    client.patch(f"/api/v1/screens/{screen_id}", headers=operator, json={"operating_hours": "06:00-21:00"})
    with app.app_context():
        assert reconcile(config, NOW + timedelta(minutes=1)).new_versions == {screen_id: 2}
        body = db.session.scalar(select(Manifest.body).where(Manifest.screen_id == screen_id, Manifest.version == 2))
    lit = [s for s in body["segments"] if s["kind"] != "dark"]
    assert lit[0]["start"] == "2024-06-05T00:00:00Z"  # 07:00 local: the board opened at 06:00, before the window
    assert any(s["end"] == "2024-06-05T14:00:00Z" for s in lit)  # 21:00 in Vũng Tàu, no longer 22:00
    assert not any(s["end"] == "2024-06-05T15:00:00Z" for s in lit)


def test_a_board_moved_to_another_controller_is_sent_its_newest_manifest_there(
        client, app: Flask, accounts: Accounts, imported_plan: Any, simulators: tuple[SimulatorServer, SimulatorServer]) -> None:
    old, new = simulators
    screen_id, operator = scheduled_board(client, app, accounts, url=old.url)
    service = SchedulerService(app, name="test", clock=lambda: NOW)
    assert service.run_once() == (1, 1)
    assert service.run_once() == (0, 0)
    moved = client.patch(f"/api/v1/screens/{screen_id}", headers=operator, json={"adapter_options": {"url": new.url}})
    assert moved.get_json()["changes"] == ["adapter_options"]
    assert service.run_once() == (0, 1)  # no new version: the same one, pushed again to the new controller
    assert old.boards.board("VT-01").accepted == [1] and new.boards.board("VT-01").accepted == [1]
    with app.app_context():
        sync = db.session.get(BoardSync, screen_id)
        assert sync is not None and (sync.latest_version, sync.acknowledged_version) == (1, 1)


def test_a_board_given_a_new_controller_has_its_alert_time_to_take_the_manifest(
        client, app: Flask, accounts: Accounts, imported_plan: Any, simulators: tuple[SimulatorServer, SimulatorServer]) -> None:
    from cms.services.board_health import board_alerts

    old, new = simulators
    screen_id, operator = scheduled_board(client, app, accounts, url=old.url)
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    assert SchedulerService(app, name="test", clock=lambda: long_ago).run_once() == (1, 1)  # taken two hours ago
    new.boards.fault("VT-01").offline_until = float("inf")  # the new controller is not reachable yet
    client.patch(f"/api/v1/screens/{screen_id}", headers=operator, json={"adapter_options": {"url": new.url}})
    settings = app.config["PANOLED"].boards

    def unacknowledged(at: datetime) -> list[str]:
        with app.app_context():
            return [a.code for a in board_alerts(settings, at) if a.kind == "manifest_not_acknowledged"]

    now = datetime.now(UTC)
    assert unacknowledged(now) == []  # not at once: the manifest is old, the controller new
    assert unacknowledged(now + timedelta(minutes=settings.unacknowledged_alert_minutes, seconds=5)) == ["VT-01"]


def test_a_board_out_of_service_gets_no_manifest_until_it_is_back(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    editor, approver, operator = accounts.token("editor"), accounts.token("approver"), accounts.token("operator")
    screen_id = simulator_board(client, operator, "VT-01")
    playlist = published_playlist(client, app, editor, approver)
    assert client.patch(f"/api/v1/screens/{screen_id}", headers=operator, json={"active": False}).get_json()["active"] is False
    client.post("/api/v1/rules", headers=editor, json={"playlist_id": playlist, "board_ids": [screen_id]})
    config = app.config["PANOLED"]
    with app.app_context():
        assert reconcile(config, NOW).new_versions == {}
    client.patch(f"/api/v1/screens/{screen_id}", headers=operator, json={"active": True})
    with app.app_context():
        assert reconcile(config, NOW).new_versions == {screen_id: 1}


def test_the_command_line_changes_only_what_it_is_given(runner, app: Flask) -> None:
    added = runner.invoke(main, ["screen", "add", "Bảng", "--width", "960", "--height", "320", "--adapter", "novastar-vnnox",
                                 "--option", "app_key=k", "--option", "app_secret=s3cret-cli", "--option", "player_id=p",
                                 "--group", "Vũng Tàu", "--json"])
    screen_id = json.loads(added.output)["id"]
    result = runner.invoke(main, ["screen", "edit", "PNL-001", "--hours", "18:00-02:00", "--option", "player_id=p-9",
                                  "--out-of-service", "--json"])
    assert result.exit_code == 0, result.output
    board = json.loads(result.output)
    assert sorted(board["changes"]) == ["active", "adapter_options", "operating_hours"]
    assert (board["operating_hours"], board["group"], board["active"]) == ("18:00-02:00", "Vũng Tàu", False)
    assert stored(app, screen_id).adapter_options == {"app_key": "k", "app_secret": "s3cret-cli", "player_id": "p-9"}
    assert "s3cret-cli" not in result.output
    again = runner.invoke(main, ["screen", "edit", str(screen_id), "--hours", "18:00-02:00"])
    assert again.exit_code == 0 and "nothing changed" in again.output
    bad = runner.invoke(main, ["screen", "edit", str(screen_id), "--width", "961"])
    assert bad.exit_code == 1 and "screen_size_invalid" in bad.output and "Traceback" not in bad.output
    assert stored(app, screen_id).width == 960
    unknown = runner.invoke(main, ["screen", "edit", "NOPE", "--name", "x"])
    assert unknown.exit_code == 1 and "screen_not_found" in unknown.output


def test_a_new_size_given_to_a_board_gets_renditions_of_the_media(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    editor, approver, operator = accounts.token("editor"), accounts.token("approver"), accounts.token("operator")
    published_playlist(client, app, editor, approver)
    screen_id = simulator_board(client, operator, "VT-01")
    client.patch(f"/api/v1/screens/{screen_id}", headers=operator, json={"width": 1440, "height": 480})
    from cms.models import MediaDerivative
    with app.app_context():
        keys = {d.profile_key: d.state for d in db.session.scalars(select(MediaDerivative).where(MediaDerivative.kind == "rendition"))}
    assert keys.get("1440x480") == "pending"


def test_the_board_page_edits_a_board_for_operators_only(client, app: Flask, accounts: Accounts) -> None:
    operator = accounts.token("operator")
    screen_id = client.post("/api/v1/screens", headers=operator, json=VNNOX).get_json()["id"]
    accounts.login("editor")
    assert client.get(f"/screens/{screen_id}/edit").status_code == 403
    assert f"/screens/{screen_id}/edit" not in client.get(f"/screens/{screen_id}").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/"))})
    accounts.login("operator")
    assert f"/screens/{screen_id}/edit" in client.get(f"/screens/{screen_id}").get_data(as_text=True)
    page = client.get(f"/screens/{screen_id}/edit")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "app_secret=••••" in html and "s3cret-value-1" not in html
    assert 'value="05:30-22:00"' in html and 'checked' in html  # in service
    form = {"csrf_token": csrf_token(page), "name": "Bảng NovaStar Bà Rịa (mới)", "code": "BR-01", "group_name": "",
            "address": "", "latitude": "", "longitude": "", "width": "1920", "height": "1080", "pixel_pitch_mm": "6",
            "viewing_distance_m": "40", "hours": "06:00-22:00", "timezone": "Asia/Ho_Chi_Minh", "adapter_kind": "novastar-vnnox",
            "adapter_options": "app_key=key-1\napp_secret=••••\nplayer_id=p-1"}
    saved = client.post(f"/screens/{screen_id}/edit", data=form)
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"/screens/{screen_id}")
    board = stored(app, screen_id)
    assert (board.name, board.pixel_pitch_mm, f"{board.opens_at:%H:%M}", board.active) == ("Bảng NovaStar Bà Rịa (mới)", 6, "06:00", False)
    assert board.adapter_options["app_secret"] == "s3cret-value-1"
    refused = client.post(f"/screens/{screen_id}/edit", data=form | {"hours": "sáng sớm", "name": "Khác"})
    assert refused.status_code == 200 and stored(app, screen_id).name == "Bảng NovaStar Bà Rịa (mới)"
    no_token = client.post(f"/screens/{screen_id}/edit", data={k: v for k, v in form.items() if k != "csrf_token"} | {"name": "Khác"})
    assert no_token.status_code == 400 and stored(app, screen_id).name == "Bảng NovaStar Bà Rịa (mới)"
