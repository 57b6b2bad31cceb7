"""Boards: registering them with their secret, and their timeline from the resolver."""
from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask

from cms.cli import main
from cms.extensions import db


def add(runner, *args: str) -> Any:  # type: ignore[no-untyped-def]
    return runner.invoke(main, ["screen", "add", *args])


def test_a_board_is_registered_with_a_secret_shown_once_and_stored_hashed(runner, app: Flask) -> None:
    result = add(runner, "Bảng Panoled Bãi Sau", "--width", "960", "--height", "320", "--adapter", "simulator",
                 "--group", "TP Vũng Tàu", "--hours", "05:30-22:00", "--json")
    assert result.exit_code == 0, result.output
    board = json.loads(result.output)
    assert (board["code"], board["width"], board["height"], board["group"]) == ("PNL-001", 960, 320, "TP Vũng Tàu")
    secret = board["secret"]
    assert len(secret) > 40
    from cms.models import Screen
    from cms.services.screens import hash_secret
    with app.app_context():
        stored = db.session.get(Screen, board["id"])
        assert stored.secret_hash == hash_secret(secret) and secret not in stored.secret_hash
    listed = runner.invoke(main, ["screen", "list", "--json"])
    assert "secret" not in json.loads(listed.output)["screens"][0]


@pytest.mark.parametrize("args, code", [
    (["--width", "961", "--height", "320", "--adapter", "simulator"], "screen_size_invalid"),
    (["--width", "960", "--height", "320", "--adapter", "billboard"], "adapter_unknown"),
    (["--width", "960", "--height", "320", "--adapter", "http-json"], "adapter_option_missing"),
    (["--width", "960", "--height", "320", "--adapter", "http-json", "--option", "url=ftp://x"], "adapter_option_invalid"),
    (["--width", "960", "--height", "320", "--adapter", "simulator", "--option", "colour=red"], "adapter_option_unknown"),
    (["--width", "960", "--height", "320", "--adapter", "simulator", "--hours", "5h-22h"], "screen_hours_invalid"),
    (["--width", "960", "--height", "320", "--adapter", "simulator", "--timezone", "Mars/Base"], "screen_timezone_invalid"),
])
def test_a_bad_board_is_refused_with_its_reason_and_nothing_saved(runner, app: Flask, args: list[str], code: str) -> None:
    result = add(runner, "Bảng", *args)
    assert result.exit_code != 0 and code in result.output and "Traceback" not in result.output
    from cms.models import Screen
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Screen)) == 0


def test_two_boards_cannot_share_a_code(runner) -> None:
    assert add(runner, "A", "--width", "960", "--height", "320", "--adapter", "simulator", "--code", "VT-01").exit_code == 0
    again = add(runner, "B", "--width", "960", "--height", "320", "--adapter", "simulator", "--code", "vt-01")
    assert again.exit_code == 1 and "screen_code_taken" in again.output


def test_rotating_the_secret_replaces_it(runner, app: Flask) -> None:
    board = json.loads(add(runner, "A", "--width", "960", "--height", "320", "--adapter", "simulator", "--json").output)
    from cms.services.audit import Actor
    from cms.services.screens import get_screen, hash_secret, rotate_secret
    with app.app_context():
        screen = get_screen(board["id"])
        new = rotate_secret(screen, Actor.command_line())
        db.session.commit()
        assert new != board["secret"] and screen.secret_hash == hash_secret(new)


def test_the_timeline_covers_operating_hours_only(runner) -> None:
    add(runner, "A", "--width", "960", "--height", "320", "--adapter", "simulator", "--hours", "05:30-22:00")
    result = runner.invoke(main, ["timeline", "PNL-001", "--from", "2024-06-05T00:00:00+07:00",
                                  "--to", "2024-06-07T00:00:00+07:00", "--json"])
    assert result.exit_code == 0, result.output
    segments = json.loads(result.output)["segments"]
    assert [(s["start"], s["end"]) for s in segments] == [
        ("2024-06-05T05:30:00+07:00", "2024-06-05T22:00:00+07:00"),
        ("2024-06-06T05:30:00+07:00", "2024-06-06T22:00:00+07:00")]
    assert {s["kind"] for s in segments} == {"idle"}  # no playlists are scheduled yet


def test_a_board_lit_across_midnight_has_one_stretch_per_night(runner) -> None:
    add(runner, "Đêm", "--width", "768", "--height", "384", "--adapter", "simulator", "--hours", "18:00-02:00")
    result = runner.invoke(main, ["timeline", "1", "--from", "2024-06-05T12:00:00", "--to", "2024-06-06T12:00:00", "--json"])
    segments = json.loads(result.output)["segments"]
    assert [(s["start"], s["end"]) for s in segments] == [("2024-06-05T18:00:00+07:00", "2024-06-06T02:00:00+07:00")]


@pytest.mark.parametrize("start, end, code", [
    ("yesterday", "2024-06-06", "timeline_bad_time"),
    ("2024-06-06", "2024-06-05", "timeline_bad_range"),
    ("2024-01-01", "2024-03-01", "timeline_too_long"),
])
def test_a_bad_timeline_request_says_why(runner, start: str, end: str, code: str) -> None:
    add(runner, "A", "--width", "960", "--height", "320", "--adapter", "simulator")
    result = runner.invoke(main, ["timeline", "1", "--from", start, "--to", end])
    assert result.exit_code == 1 and code in result.output


def test_a_board_of_a_new_size_gets_renditions_of_the_media(runner, app: Flask, accounts, imported_plan) -> None:  # type: ignore[no-untyped-def]
    import io

    import media_files
    from cms.services.audit import Actor
    from cms.services.media import add_upload, get_asset
    with app.app_context():
        asset_id = add_upload(io.BytesIO(media_files.png_bytes()), "p.png", 1, Actor.command_line(), app.config["PANOLED"]).asset.id
    add(runner, "Cổng chào", "--width", "1280", "--height", "640", "--adapter", "simulator")
    with app.app_context():
        renditions = {d.profile_key: d for d in get_asset(asset_id).derivatives if d.kind == "rendition"}
        assert "1280x640" in renditions and renditions["1280x640"].state == "pending"
        assert (renditions["1280x640"].width, renditions["1280x640"].height) == (1280, 640)


def test_operators_register_boards_through_the_api_and_others_may_not(client, accounts) -> None:  # type: ignore[no-untyped-def]
    body = {"name": "Bảng Panoled Bãi Trước", "width": 1920, "height": 1080, "adapter": "simulator", "group": "Vũng Tàu"}
    assert client.post("/api/v1/screens", headers=accounts.token("editor"), json=body).status_code == 403
    created = client.post("/api/v1/screens", headers=accounts.token("operator"), json=body)
    assert created.status_code == 201 and created.get_json()["secret"].startswith("pnb_")
    screen_id = created.get_json()["id"]
    auditor = accounts.token("auditor")
    assert "secret" not in client.get(f"/api/v1/screens/{screen_id}", headers=auditor).get_json()
    timeline = client.get(f"/api/v1/screens/{screen_id}/timeline?from=2024-06-05T00:00:00&to=2024-06-06T00:00:00", headers=auditor)
    assert timeline.status_code == 200 and timeline.get_json()["segments"][0]["start"] == "2024-06-05T05:30:00+07:00"
    assert client.post(f"/api/v1/screens/{screen_id}/secret", headers=auditor).status_code == 403


def test_the_board_pages_show_the_secret_once(client, accounts) -> None:  # type: ignore[no-untyped-def]
    from conftest import csrf_token

    accounts.login("operator")
    page = client.get("/screens/new")
    created = client.post("/screens/new", data={
        "csrf_token": csrf_token(page), "name": "Bảng Panoled chợ Bến Đình", "width": "768", "height": "384",
        "pixel_pitch_mm": "10", "viewing_distance_m": "50", "hours": "05:30-22:00", "timezone": "Asia/Ho_Chi_Minh",
        "adapter_kind": "simulator", "adapter_options": ""})
    body = created.get_data(as_text=True)
    assert created.status_code == 200 and 'class="secret"' in body and "pnb_" in body
    again = client.get("/screens/1").get_data(as_text=True)
    assert "pnb_" not in again and "Bảng Panoled chợ Bến Đình" in again
    assert client.get("/screens/").status_code == 200
