"""Schedule rules reach a board's timeline only through published playlists of
approved media, and interrupts only once another approver agreed."""
from __future__ import annotations

from typing import Any

from flask import Flask

import media_files
from conftest import Accounts
from cms.services.derivatives import work_until_idle

DAY = "from=2024-06-05T00:00:00&to=2024-06-06T00:00:00"  # task 4 runs in June 2024


def published_playlist(client, app: Flask, editor: dict[str, str], approver: dict[str, str], campaign_id: int = 4) -> int:  # type: ignore[no-untyped-def]
    asset = client.post(f"/api/v1/media?campaign_id={campaign_id}&filename=p.png", data=media_files.png_bytes(),
                        headers=editor | {"Content-Type": "application/octet-stream"}).get_json()["id"]
    with app.app_context():
        work_until_idle(app.config["PANOLED"])
    client.post(f"/api/v1/media/{asset}/transitions", headers=editor, json={"to": "pending"})
    client.post(f"/api/v1/media/{asset}/transitions", headers=approver, json={"to": "approved"})
    playlist = client.post("/api/v1/playlists", headers=editor, json={"campaign_id": campaign_id, "name": "P"}).get_json()["id"]
    client.post(f"/api/v1/playlists/{playlist}/items", headers=editor, json={"asset_id": asset, "duration": 15})
    assert client.post(f"/api/v1/playlists/{playlist}/publish", headers=editor).status_code == 200
    return playlist


def board(client, operator: dict[str, str]) -> int:  # type: ignore[no-untyped-def]
    return client.post("/api/v1/screens", headers=operator, json={
        "name": "Bảng Panoled Bãi Sau", "width": 960, "height": 320, "adapter": "simulator", "group": "Vũng Tàu",
        "operating_hours": "05:30-22:00"}).get_json()["id"]


def kinds(client, headers: dict[str, str], screen_id: int) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    body = client.get(f"/api/v1/screens/{screen_id}/timeline?{DAY}", headers=headers).get_json()
    return [(s["start"][11:16], s["end"][11:16], s["kind"]) for s in body["segments"]]


def test_a_rule_on_a_board_group_fills_its_window_within_the_campaign_period(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    editor, approver, operator = accounts.token("editor"), accounts.token("approver"), accounts.token("operator")
    screen_id = board(client, operator)
    playlist = published_playlist(client, app, editor, approver)
    rule = client.post("/api/v1/rules", headers=editor, json={"playlist_id": playlist, "groups": ["Vũng Tàu"], "windows": ["07:00-09:00"]})
    assert rule.status_code == 201 and rule.get_json()["in_effect"] is True
    assert kinds(client, editor, screen_id) == [("05:30", "07:00", "idle"), ("07:00", "09:00", "fill"), ("09:00", "22:00", "idle")]
    plays = client.get(f"/api/v1/screens/{screen_id}/timeline?{DAY}", headers=editor).get_json()["segments"][1]["plays"]
    assert len(plays) == 2 * 3600 // 15 and plays[0]["start"] == "2024-06-05T07:00:00+07:00"
    outside = client.get(f"/api/v1/screens/{screen_id}/timeline?from=2024-07-05T00:00:00&to=2024-07-06T00:00:00", headers=editor)
    assert {s["kind"] for s in outside.get_json()["segments"]} == {"idle"}  # task 4 is Tháng 6/2024 only


def test_an_interrupt_waits_for_another_approver_then_takes_the_screen(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    editor, approver, operator = accounts.token("editor"), accounts.token("approver"), accounts.token("operator")
    screen_id = board(client, operator)
    playlist = published_playlist(client, app, editor, approver)
    client.post("/api/v1/rules", headers=editor, json={"playlist_id": playlist, "board_ids": [screen_id], "plays_per_hour": 4})
    storm = client.post("/api/v1/rules", headers=editor, json={
        "playlist_id": playlist, "board_ids": [screen_id], "interrupt": True, "windows": ["12:00-13:00"],
        "note": "Cảnh báo bão"}).get_json()
    assert storm["in_effect"] is False
    assert "interrupt" not in {k for _, _, k in kinds(client, editor, screen_id)}
    assert client.post(f"/api/v1/rules/{storm['id']}/approve", headers=editor).status_code == 403
    assert client.post(f"/api/v1/rules/{storm['id']}/approve", headers=approver).get_json()["in_effect"] is True
    assert ("12:00", "13:00", "interrupt") in kinds(client, editor, screen_id)


def test_an_unpublished_playlist_is_never_scheduled(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    editor, operator = accounts.token("editor"), accounts.token("operator")
    screen_id = board(client, operator)
    playlist = client.post("/api/v1/playlists", headers=editor, json={"campaign_id": 4, "name": "Nháp"}).get_json()["id"]
    rule = client.post("/api/v1/rules", headers=editor, json={"playlist_id": playlist, "board_ids": [screen_id]}).get_json()
    assert rule["in_effect"] is False
    assert {k for _, _, k in kinds(client, editor, screen_id)} == {"idle"}


def test_a_bad_rule_is_refused_with_its_reason(client, accounts: Accounts, imported_plan: Any) -> None:
    editor = accounts.token("editor")
    playlist = client.post("/api/v1/playlists", headers=editor, json={"campaign_id": 4, "name": "P"}).get_json()["id"]
    for body, code in [({"playlist_id": playlist}, "rule_no_boards"),
                       ({"playlist_id": playlist, "groups": ["A"], "windows": ["7h-9h"]}, "rule_window_invalid"),
                       ({"playlist_id": playlist, "groups": ["A"], "plays_per_hour": 4, "share_of_voice": 0.5}, "rule_quota_invalid"),
                       ({"playlist_id": playlist, "groups": ["A"], "weekdays": [7]}, "rule_weekdays_invalid"),
                       ({"playlist_id": playlist, "board_ids": [999]}, "screen_not_found")]:
        response = client.post("/api/v1/rules", headers=editor, json=body)
        assert response.status_code in (404, 422) and response.get_json()["error"]["code"] == code, body
    assert client.get("/api/v1/rules", headers=editor).get_json()["rules"] == []
