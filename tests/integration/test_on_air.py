"""The "on air now" list, the board's deliveries, and its fallback playlist."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from conftest import Accounts, csrf_token
from display_adapters.simulator import LOCAL_BOARDS
from schedule_setup import published_playlist, simulator_board
from scheduler.service import SchedulerService


def test_status_says_what_each_board_shows_now_and_how_its_last_push_went(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    editor, approver, operator = accounts.token("editor"), accounts.token("approver"), accounts.token("operator")
    screen_id = simulator_board(client, operator, "ONAIR-1")
    other = simulator_board(client, operator, "ONAIR-2", url="http://127.0.0.1:9")  # nothing listens there
    playlist = published_playlist(client, app, editor, approver)
    today = datetime.now(UTC).date()
    client.post("/api/v1/rules", headers=editor, json={"playlist_id": playlist, "board_ids": [screen_id, other],
                                                        "date_from": (today - timedelta(days=1)).isoformat(),
                                                        "date_to": (today + timedelta(days=2)).isoformat()})
    SchedulerService(app, name="test").run_once()
    boards = {b["code"]: b for b in client.get("/api/v1/screens/status", headers=editor).get_json()["boards"]}
    here, away = boards["ONAIR-1"], boards["ONAIR-2"]
    assert (here["latest_version"], here["acknowledged_version"], here["in_sync"], here["last_result"]) == (1, 1, True, "ok")
    assert here["now"]["kind"] == "fill" and here["now"]["playlist_id"] == playlist
    assert here["now"]["campaign"].startswith("Tổ chức hoạt động thuộc “Tháng hành động vì môi trường”")
    assert LOCAL_BOARDS.get("ONAIR-1").current_version == 1  # type: ignore[union-attr]
    assert (away["in_sync"], away["last_result"], away["failures"]) == (False, "retry", 1) and away["next_attempt_at"]
    assert "cannot reach" in away["last_error"] and away["now"] is None  # it never got the manifest

    accounts.login("auditor")
    page = client.get("/screens/on-air").get_data(as_text=True)
    assert "ONAIR-1" in page and "ONAIR-2" in page and "cannot reach" in page
    detail = client.get(f"/screens/{other}").get_data(as_text=True)
    assert "cannot reach" in detail


def test_a_fallback_playlist_fills_the_board_when_no_rule_has_anything(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    editor, approver, operator = accounts.token("editor"), accounts.token("approver"), accounts.token("operator")
    screen_id = simulator_board(client, operator, "FB-1", hours="05:30-22:00")
    playlist = published_playlist(client, app, editor, approver)
    day = "from=2024-06-05T00:00:00&to=2024-06-06T00:00:00"
    assert {s["kind"] for s in client.get(f"/api/v1/screens/{screen_id}/timeline?{day}", headers=editor).get_json()["segments"]} == {"idle"}
    assert client.put(f"/api/v1/screens/{screen_id}/fallback", headers=operator, json={"playlist_id": playlist}).status_code == 403
    bad = client.put(f"/api/v1/screens/{screen_id}/fallback", headers=editor, json={"playlist_id": 999})
    assert bad.status_code == 404 and client.get(f"/api/v1/screens/{screen_id}", headers=editor).get_json()["fallback_playlist_id"] is None
    assert client.put(f"/api/v1/screens/{screen_id}/fallback", headers=editor, json={"playlist_id": playlist}).get_json()["fallback_playlist_id"] == playlist
    segments = client.get(f"/api/v1/screens/{screen_id}/timeline?{day}", headers=editor).get_json()["segments"]
    assert [(s["start"][11:16], s["end"][11:16], s["kind"]) for s in segments] == [("05:30", "22:00", "fallback")]
    client.put(f"/api/v1/screens/{screen_id}/fallback", headers=editor, json={"playlist_id": None})
    assert {s["kind"] for s in client.get(f"/api/v1/screens/{screen_id}/timeline?{day}", headers=editor).get_json()["segments"]} == {"idle"}


def test_the_board_page_sets_the_fallback_for_editors_only(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    editor, approver, operator = accounts.token("editor"), accounts.token("approver"), accounts.token("operator")
    screen_id = simulator_board(client, operator, "FB-2")
    playlist = published_playlist(client, app, editor, approver)
    accounts.login("operator", email="op2@example.org")
    page = client.get(f"/screens/{screen_id}")
    assert f'action="/screens/{screen_id}/fallback"' not in page.get_data(as_text=True)
    refused = client.post(f"/screens/{screen_id}/fallback", data={"playlist_id": playlist, "csrf_token": csrf_token(page)})
    assert refused.status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(page)})
    accounts.login("editor", email="ed2@example.org")
    page = client.get(f"/screens/{screen_id}")
    saved = client.post(f"/screens/{screen_id}/fallback", data={"playlist_id": playlist, "csrf_token": csrf_token(page)})
    assert saved.status_code == 302
    assert client.get(f"/api/v1/screens/{screen_id}", headers=editor).get_json()["fallback_playlist_id"] == playlist
    no_token = client.post(f"/screens/{screen_id}/fallback", data={"playlist_id": 0})
    assert no_token.status_code == 400
    assert client.get(f"/api/v1/screens/{screen_id}", headers=editor).get_json()["fallback_playlist_id"] == playlist
