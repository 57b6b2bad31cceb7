"""Playlist pages: an editor builds a campaign's playlist from its media, sees how long one
pass lasts, orders the items and sets their durations, and publishes it only once every
item is approved, with the reason shown while it cannot be."""
from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

import media_files
from conftest import Accounts, csrf_token
from cms.extensions import db
from cms.services.derivatives import work_until_idle

CAMPAIGN = 1


def english(client: FlaskClient) -> None:
    """Read the pages in English, so the assertions do not depend on the catalogue."""
    page = client.get("/login")
    client.post("/language", data={"csrf_token": csrf_token(page), "lang": "en", "next": "/"})


def upload(client: FlaskClient, token: dict[str, str], data: bytes, name: str, campaign_id: int = CAMPAIGN) -> int:
    response = client.post(f"/api/v1/media?campaign_id={campaign_id}&filename={name}", data=data,
                           headers=token | {"Content-Type": "application/octet-stream"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def approve(client: FlaskClient, app: Flask, editor: dict[str, str], approver: dict[str, str], asset_id: int) -> None:
    with app.app_context():
        work_until_idle(app.config["PANOLED"])
    client.post(f"/api/v1/media/{asset_id}/transitions", headers=editor, json={"to": "pending"})
    assert client.post(f"/api/v1/media/{asset_id}/transitions", headers=approver, json={"to": "approved"}).status_code == 200


def new_playlist(client: FlaskClient, name: str = "Giờ Trái đất – bảng Bãi Sau") -> int:
    page = client.get(f"/campaigns/{CAMPAIGN}/playlists")
    response = client.post(f"/campaigns/{CAMPAIGN}/playlists", data={"csrf_token": csrf_token(page), "name": name})
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def post(client: FlaskClient, playlist_id: int, path: str, **data: Any) -> str:
    """Send one of the playlist page's forms and return the page it leads back to."""
    page = client.get(f"/playlists/{playlist_id}")
    response = client.post(f"/playlists/{playlist_id}{path}", data={"csrf_token": csrf_token(page), **data},
                           follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def item_ids(app: Flask, playlist_id: int) -> list[tuple[int, int]]:
    """(item id, asset id) in playing order, as stored."""
    from cms.services.playlists import get_playlist

    with app.app_context():
        return [(i.id, i.asset_id) for i in get_playlist(playlist_id).items]


def loop_shown(html: str) -> tuple[str, str]:
    match = re.search(r'class="loop-length" data-seconds="([^"]+)">([^<]+)<', html)
    assert match, "no loop length on the page"
    return match.group(1), match.group(2)


def test_publishing_is_refused_with_the_reason_until_every_item_is_approved(client, app: Flask, accounts: Accounts,
                                                                           imported_plan: Any, tmp_path) -> None:  # type: ignore[no-untyped-def]
    editor, approver = accounts.token("editor"), accounts.token("approver")
    poster = upload(client, editor, media_files.png_bytes(), "Áp phích.png")
    clip = upload(client, editor, media_files.mp4_file(tmp_path / "c.mp4", seconds=2.0).read_bytes(), "Phim ngắn.mp4")
    approve(client, app, editor, approver, poster)
    accounts.login("editor")
    english(client)
    playlist = new_playlist(client)
    post(client, playlist, "/items", asset_id=poster)
    page = post(client, playlist, "/items", asset_id=clip)
    assert "It cannot be published yet" in page and "Phim ngắn.mp4" in page and "Draft" in page

    refused = post(client, playlist, "/publish")
    assert "Not approved yet: Phim ngắn.mp4. Only approved media can be published." in refused
    from cms.services.playlists import get_playlist
    with app.app_context():
        assert get_playlist(playlist).status == "draft"

    approve(client, app, editor, approver, clip)
    assert "It cannot be published yet" not in client.get(f"/playlists/{playlist}").get_data(as_text=True)
    published = post(client, playlist, "/publish")
    assert "Published on" in published and 'class="badge ok state">Published<' in published
    with app.app_context():
        assert get_playlist(playlist).status == "published"


def test_an_empty_playlist_says_it_needs_items_before_publishing(client, accounts: Accounts, imported_plan: Any) -> None:
    accounts.login("editor")
    english(client)
    playlist = new_playlist(client)
    page = post(client, playlist, "/publish")
    assert "it has no items" in page and "An empty playlist cannot be published." in page


def test_the_loop_length_shown_is_the_sum_of_the_items(client, app: Flask, accounts: Accounts, imported_plan: Any,
                                                       tmp_path) -> None:  # type: ignore[no-untyped-def]
    editor = accounts.token("editor")
    poster = upload(client, editor, media_files.png_bytes(), "poster.png")
    banner = upload(client, editor, media_files.jpeg_bytes(), "banner.jpg")
    clip = upload(client, editor, media_files.mp4_file(tmp_path / "c.mp4", seconds=2.0).read_bytes(), "clip.mp4")
    accounts.login("editor")
    english(client)
    playlist = new_playlist(client)
    for asset in (poster, banner, clip):
        page = post(client, playlist, "/items", asset_id=asset)
    assert loop_shown(page) == ("22.000", "22 s")  # pictures 10 s each, the clip its own 2 s
    poster_item = item_ids(app, playlist)[0][0]
    page = post(client, playlist, f"/items/{poster_item}/duration", seconds="7.5")
    assert "Duration saved." in page and loop_shown(page) == ("19.500", "19.5 s")
    page = post(client, playlist, f"/items/{poster_item}/duration", seconds="65")
    assert loop_shown(page) == ("77.000", "1 min 17 s")
    page = post(client, playlist, f"/items/{poster_item}/duration", seconds="")
    assert loop_shown(page) == ("22.000", "22 s") and "the default for pictures" in page


def test_a_bad_duration_shows_why_and_changes_nothing(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    editor = accounts.token("editor")
    poster = upload(client, editor, media_files.png_bytes(), "poster.png")
    accounts.login("editor")
    english(client)
    playlist = new_playlist(client)
    post(client, playlist, "/items", asset_id=poster)
    item = item_ids(app, playlist)[0][0]
    for bad in ("0", "-3", "3601"):
        page = post(client, playlist, f"/items/{item}/duration", seconds=bad)
        assert "An item lasts more than 0 and at most 3600 seconds." in page
    page = post(client, playlist, f"/items/{item}/duration", seconds="ten")
    assert "Write the duration in seconds" in page
    from cms.services.audit import history
    from cms.services.playlists import get_playlist
    with app.app_context():
        assert get_playlist(playlist).items[0].duration is None
        assert [e.action for e in history("playlist", playlist)] == ["playlist.create", "playlist.add"]


def test_items_move_up_and_down_and_are_removed(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    editor, approver = accounts.token("editor"), accounts.token("approver")
    first, second, third = (upload(client, editor, media_files.png_bytes(colour=(i * 60, 90, 90)), f"{i}.png") for i in (1, 2, 3))
    for asset in (first, second, third):
        approve(client, app, editor, approver, asset)
    accounts.login("editor")
    english(client)
    playlist = new_playlist(client)
    for asset in (first, second, third):
        post(client, playlist, "/items", asset_id=asset)
    items = dict((asset, item) for item, asset in item_ids(app, playlist))
    post(client, playlist, f"/items/{items[third]}/move", direction="up")
    assert [a for _, a in item_ids(app, playlist)] == [first, third, second]
    post(client, playlist, f"/items/{items[first]}/move", direction="down")
    assert [a for _, a in item_ids(app, playlist)] == [third, first, second]
    post(client, playlist, f"/items/{items[third]}/move", direction="up")  # already first: stays
    assert [a for _, a in item_ids(app, playlist)] == [third, first, second]
    post(client, playlist, "/publish")
    page = post(client, playlist, f"/items/{items[first]}/remove")
    assert "Item removed." in page and [a for _, a in item_ids(app, playlist)] == [third, second]
    assert "Draft: no board plays it until it is published." in page  # a change takes it back to draft
    names = re.findall(r'class="item-thumb">.*?</a>\s*<div class="item-body">\s*<a [^>]*class="name">([^<]+)<', page, re.S)
    assert names == ["3.png", "2.png"]


def test_only_the_campaigns_own_media_can_be_added(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    editor = accounts.token("editor")
    other = upload(client, editor, media_files.png_bytes(), "khác.png", campaign_id=2)
    accounts.login("editor")
    english(client)
    playlist = new_playlist(client)
    page = post(client, playlist, "/items", asset_id=other)
    assert f"No media {other} in this playlist&#39;s campaign." in page and item_ids(app, playlist) == []
    assert "khác.png" not in client.get(f"/playlists/{playlist}").get_data(as_text=True)


def test_the_campaign_page_leads_to_its_playlists(client, accounts: Accounts, imported_plan: Any) -> None:
    accounts.login("editor")
    english(client)
    new_playlist(client, "Ngày Môi trường")
    detail = client.get(f"/campaigns/{CAMPAIGN}").get_data(as_text=True)
    assert f'href="/campaigns/{CAMPAIGN}/playlists"' in detail
    listing = client.get(f"/campaigns/{CAMPAIGN}/playlists").get_data(as_text=True)
    assert "Ngày Môi trường" in listing and "Draft" in listing


def test_an_empty_name_is_refused_and_nothing_is_made(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    accounts.login("editor")
    english(client)
    page = client.get(f"/campaigns/{CAMPAIGN}/playlists")
    response = client.post(f"/campaigns/{CAMPAIGN}/playlists", data={"csrf_token": csrf_token(page), "name": "   "})
    assert response.status_code == 200 and "This field is required." in response.get_data(as_text=True)
    from cms.services.playlists import list_playlists
    with app.app_context():
        assert list_playlists() == []


def test_auditors_see_playlists_but_cannot_change_them(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    editor = accounts.token("editor")
    poster = upload(client, editor, media_files.png_bytes(), "poster.png")
    accounts.login("editor")
    playlist = new_playlist(client)
    post(client, playlist, "/items", asset_id=poster)
    item = item_ids(app, playlist)[0][0]
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/"))})
    accounts.login("auditor")
    english(client)
    page = client.get(f"/playlists/{playlist}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "poster.png" in html
    assert "Add media of the campaign" not in html and ">Publish<" not in html and "New playlist" not in \
        client.get(f"/campaigns/{CAMPAIGN}/playlists").get_data(as_text=True)
    token = csrf_token(client.get("/"))
    for path, data in [(f"/campaigns/{CAMPAIGN}/playlists", {"name": "X"}), (f"/playlists/{playlist}/items", {"asset_id": poster}),
                       (f"/playlists/{playlist}/items/{item}/remove", {}), (f"/playlists/{playlist}/items/{item}/duration", {"seconds": "5"}),
                       (f"/playlists/{playlist}/items/{item}/move", {"direction": "down"}), (f"/playlists/{playlist}/publish", {})]:
        assert client.post(path, data={"csrf_token": token, **data}).status_code == 403, path
    assert item_ids(app, playlist) == [(item, poster)]


def test_the_api_moves_items_and_sets_durations_with_an_audit_record(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    editor = accounts.token("editor")
    one, two = upload(client, editor, media_files.png_bytes(), "1.png"), upload(client, editor, media_files.jpeg_bytes(), "2.jpg")
    playlist = client.post("/api/v1/playlists", headers=editor, json={"campaign_id": CAMPAIGN, "name": "P"}).get_json()["id"]
    client.post(f"/api/v1/playlists/{playlist}/items", headers=editor, json={"asset_id": one})
    body = client.post(f"/api/v1/playlists/{playlist}/items", headers=editor, json={"asset_id": two}).get_json()
    second = body["items"][1]["id"]
    moved = client.patch(f"/api/v1/playlists/{playlist}/items/{second}", headers=editor, json={"move": "up", "duration": 4}).get_json()
    assert [(i["asset_id"], i["position"], i["seconds"]) for i in moved["items"]] == [(two, 0, 4.0), (one, 1, 10.0)]
    assert moved["loop_seconds"] == 14.0
    reset = client.patch(f"/api/v1/playlists/{playlist}/items/{second}", headers=editor, json={"duration": None}).get_json()
    assert reset["loop_seconds"] == 20.0
    bad = client.patch(f"/api/v1/playlists/{playlist}/items/{second}", headers=editor, json={"move": "sideways"})
    assert bad.status_code == 422
    assert client.patch(f"/api/v1/playlists/{playlist}/items/{second}", headers=accounts.token("auditor"), json={"duration": 3}).status_code == 403
    from cms.services.audit import history
    with app.app_context():
        events = [(e.action, e.details.get("before"), e.details.get("after")) for e in history("playlist", playlist)]
        db.session.rollback()
    assert ("playlist.duration", None, 4.0) in events and ("playlist.move", 1, 0) in events and ("playlist.duration", 4.0, None) in events
