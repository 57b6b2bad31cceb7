"""Playlists: a campaign's media in order; only approved media are ever published."""
from __future__ import annotations

from typing import Any

from flask import Flask

import media_files
from conftest import Accounts
from cms.extensions import db
from cms.services.derivatives import work_until_idle


def upload(client, headers: dict[str, str], data: bytes, name: str, campaign_id: int = 1) -> int:  # type: ignore[no-untyped-def]
    response = client.post(f"/api/v1/media?campaign_id={campaign_id}&filename={name}", data=data,
                           headers=headers | {"Content-Type": "application/octet-stream"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def approve(client, app: Flask, editor: dict[str, str], approver: dict[str, str], asset_id: int) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        work_until_idle(app.config["PANOLED"])
    client.post(f"/api/v1/media/{asset_id}/transitions", headers=editor, json={"to": "pending"})
    assert client.post(f"/api/v1/media/{asset_id}/transitions", headers=approver, json={"to": "approved"}).status_code == 200


def test_only_a_playlist_of_approved_media_is_published(client, app: Flask, accounts: Accounts, imported_plan: Any, tmp_path) -> None:  # type: ignore[no-untyped-def]
    editor, approver = accounts.token("editor"), accounts.token("approver")
    poster = upload(client, editor, media_files.png_bytes(), "poster.png")
    clip = upload(client, editor, media_files.mp4_file(tmp_path / "c.mp4", seconds=2.0).read_bytes(), "clip.mp4")
    playlist = client.post("/api/v1/playlists", headers=editor, json={"campaign_id": 1, "name": "Giờ Trái đất"}).get_json()
    client.post(f"/api/v1/playlists/{playlist['id']}/items", headers=editor, json={"asset_id": poster})
    body = client.post(f"/api/v1/playlists/{playlist['id']}/items", headers=editor, json={"asset_id": clip}).get_json()
    assert [i["seconds"] for i in body["items"]] == [10.0, 2.0] and body["loop_seconds"] == 12.0
    refused = client.post(f"/api/v1/playlists/{playlist['id']}/publish", headers=editor)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "playlist_not_approved"
    approve(client, app, editor, approver, poster)
    approve(client, app, editor, approver, clip)
    published = client.post(f"/api/v1/playlists/{playlist['id']}/publish", headers=editor).get_json()
    assert published["status"] == "published" and published["publishable"] is True
    client.patch(f"/api/v1/media/{poster}", headers=editor, json={"fit_mode": "stretch"})  # back to review
    again = client.get(f"/api/v1/playlists/{playlist['id']}", headers=editor).get_json()
    assert again["publishable"] is False


def test_a_playlist_takes_only_its_own_campaigns_media(client, accounts: Accounts, imported_plan: Any) -> None:
    editor = accounts.token("editor")
    other = upload(client, editor, media_files.png_bytes(), "other.png", campaign_id=2)
    playlist = client.post("/api/v1/playlists", headers=editor, json={"campaign_id": 1, "name": "P"}).get_json()
    refused = client.post(f"/api/v1/playlists/{playlist['id']}/items", headers=editor, json={"asset_id": other})
    assert refused.status_code == 404 and refused.get_json()["error"]["code"] == "media_not_found"
    bad = client.post(f"/api/v1/playlists/{playlist['id']}/items", headers=editor, json={"asset_id": other, "duration": -1})
    assert bad.status_code in (404, 422)
    assert client.post("/api/v1/playlists", headers=accounts.token("auditor"), json={"campaign_id": 1, "name": "X"}).status_code == 403


def test_changing_a_published_playlist_takes_it_back_to_draft(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    editor, approver = accounts.token("editor"), accounts.token("approver")
    poster = upload(client, editor, media_files.png_bytes(), "p.png")
    approve(client, app, editor, approver, poster)
    playlist = client.post("/api/v1/playlists", headers=editor, json={"campaign_id": 1, "name": "P"}).get_json()
    item = client.post(f"/api/v1/playlists/{playlist['id']}/items", headers=editor, json={"asset_id": poster, "duration": 8}).get_json()
    client.post(f"/api/v1/playlists/{playlist['id']}/publish", headers=editor)
    client.post(f"/api/v1/playlists/{playlist['id']}/items", headers=editor, json={"asset_id": poster})
    assert client.get(f"/api/v1/playlists/{playlist['id']}", headers=editor).get_json()["status"] == "draft"
    removed = client.delete(f"/api/v1/playlists/{playlist['id']}/items/{item['items'][0]['id']}", headers=editor).get_json()
    assert [i["position"] for i in removed["items"]] == [0] and removed["loop_seconds"] == 10.0
