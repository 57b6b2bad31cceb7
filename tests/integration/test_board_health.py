"""Board health: online or offline from heartbeats, the last play, the operator's alerts, screenshots on request."""
from __future__ import annotations

import base64
import io
from datetime import UTC, datetime, timedelta

from flask import Flask
from PIL import Image

from board_calls import make_manifest, new_board, post_signed
from conftest import Accounts, csrf_token


def _backdate(app: Flask, screen_id: int, minutes: int) -> None:
    """The board was registered `minutes` ago."""
    from cms.extensions import db
    from cms.models import Screen

    with app.app_context():
        db.session.get(Screen, screen_id).created_at = datetime.now(UTC) - timedelta(minutes=minutes)
        db.session.commit()


def _alerts(app: Flask, now: datetime) -> set[tuple[str, str]]:
    from cms.services.board_health import board_alerts

    with app.app_context():
        return {(a.kind, a.code) for a in board_alerts(app.config["PANOLED"].boards, now)}


def test_alerts_name_offline_boards_unacknowledged_manifests_and_unexpected_media(client, app: Flask, accounts: Accounts) -> None:
    operator = accounts.token("operator")
    quiet, _quiet_secret = new_board(client, operator, "AL-QUIET")
    steady, steady_secret = new_board(client, operator, "AL-STEADY")
    behind, behind_secret = new_board(client, operator, "AL-BEHIND")
    rogue, rogue_secret = new_board(client, operator, "AL-ROGUE")
    for board in (quiet, steady, behind, rogue):
        _backdate(app, board, 60)
    now = datetime.now(UTC)
    make_manifest(app, steady, 1, (11,))
    make_manifest(app, behind, 1, (11,), made_at=now - timedelta(minutes=30))
    make_manifest(app, rogue, 1, (11,))
    post_signed(client, f"/api/v1/screens/{steady}/heartbeat", steady_secret, {"version": 1, "asset_id": 11})
    post_signed(client, f"/api/v1/screens/{behind}/heartbeat", behind_secret, {"version": None, "asset_id": None})
    post_signed(client, f"/api/v1/screens/{rogue}/heartbeat", rogue_secret, {"version": 1, "asset_id": 12})
    assert _alerts(app, now) == {("offline", "AL-QUIET"), ("manifest_not_acknowledged", "AL-BEHIND"),
                                 ("unexpected_content", "AL-ROGUE")}
    # Three missed heartbeats: offline, but not yet an alert; after 15 minutes offline it is one.
    assert ("offline", "AL-STEADY") not in _alerts(app, now + timedelta(seconds=95))
    assert ("offline", "AL-STEADY") not in _alerts(app, now + timedelta(minutes=16))
    later = _alerts(app, now + timedelta(minutes=17))
    assert {("offline", "AL-STEADY"), ("offline", "AL-BEHIND"), ("offline", "AL-ROGUE")} <= later
    assert ("unexpected_content", "AL-ROGUE") not in later  # what an offline board showed is history

    auditor = accounts.token("auditor")
    listed = client.get("/api/v1/screens/alerts", headers=auditor).get_json()["alerts"]
    by_code = {(a["kind"], a["code"]): a for a in listed}
    assert by_code[("offline", "AL-QUIET")]["since"] is None
    assert by_code[("unexpected_content", "AL-ROGUE")]["detail"]["asset_id"] == 12
    assert by_code[("manifest_not_acknowledged", "AL-BEHIND")]["detail"] == {"latest_version": 1, "acknowledged_version": 0}
    assert client.get("/api/v1/screens/alerts").status_code == 401

    accounts.login("auditor")
    page = client.get("/screens/alerts").get_data(as_text=True)
    assert "AL-QUIET" in page and "AL-ROGUE" in page and "AL-BEHIND" in page and "AL-STEADY" not in page


def test_a_newly_registered_board_is_not_an_alert_yet(client, app: Flask, accounts: Accounts) -> None:
    new_board(client, accounts.token("operator"), "AL-NEW")
    assert _alerts(app, datetime.now(UTC)) == set()
    assert ("offline", "AL-NEW") in _alerts(app, datetime.now(UTC) + timedelta(minutes=16))


def test_on_air_shows_online_offline_last_seen_and_last_play(client, app: Flask, accounts: Accounts) -> None:
    operator = accounts.token("operator")
    live, secret = new_board(client, operator, "HL-LIVE")
    new_board(client, operator, "HL-DARK")
    _backdate(app, live, 60)
    make_manifest(app, live, 1, (11,))
    post_signed(client, f"/api/v1/screens/{live}/heartbeat", secret, {"version": 1, "asset_id": 11})
    played_until = datetime.now(UTC) - timedelta(minutes=2)
    plays = [{"event_id": "6f1c1b8e-8d6e-4a52-9a3e-0c9f3f3f0a01", "asset_id": 11, "manifest_version": 1,
              "start": (played_until - timedelta(seconds=15)).isoformat(), "end": played_until.isoformat()},
             {"event_id": "6f1c1b8e-8d6e-4a52-9a3e-0c9f3f3f0a02", "asset_id": 11, "manifest_version": 1,
              "start": (played_until - timedelta(days=1)).isoformat(),
              "end": (played_until - timedelta(days=1, seconds=-15)).isoformat()}]  # a late one does not move it back
    post_signed(client, f"/api/v1/screens/{live}/playlogs", secret, {"plays": plays[:1]})
    post_signed(client, f"/api/v1/screens/{live}/playlogs", secret, {"plays": plays[1:]})
    boards = {b["code"]: b for b in client.get("/api/v1/screens/status", headers=operator).get_json()["boards"]}
    health = boards["HL-LIVE"]["health"]
    assert health["online"] is True and health["heartbeat_version"] == 1 and health["current_asset_id"] == 11
    assert datetime.fromisoformat(health["last_play_at"]) == played_until
    assert boards["HL-LIVE"]["acknowledged_version"] == 1
    assert boards["HL-DARK"]["health"] | {"screenshot_wanted": False} == {
        "online": False, "last_seen_at": None, "heartbeat_version": None, "current_asset_id": None, "last_play_at": None,
        "screenshot_at": None, "screenshot_requested_at": None, "screenshot_wanted": False}
    accounts.login("editor")
    page = client.get("/screens/on-air").get_data(as_text=True)
    assert "HL-LIVE" in page and "HL-DARK" in page
    assert page.count('data-online="true"') == 1 and page.count('data-online="false"') == 1
    detail = client.get(f"/screens/{live}").get_data(as_text=True)
    assert 'id="health-head"' in detail


def _png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (96, 32), colour).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_requested_screenshot_comes_with_the_next_heartbeat_and_shows_on_the_board_page(client, app: Flask, accounts: Accounts) -> None:
    board, secret = new_board(client, accounts.token("operator"), "SHOT-1")
    url = f"/api/v1/screens/{board}/heartbeat"
    assert post_signed(client, url, secret, {"version": None}).get_json()["screenshot_wanted"] is False

    accounts.login("editor", email="ed@example.org")
    page = client.get(f"/screens/{board}")
    assert "/screenshot\"" not in page.get_data(as_text=True)  # no button for an editor
    assert client.post(f"/screens/{board}/screenshot", data={"csrf_token": csrf_token(page)}).status_code == 403
    assert client.get(f"/screens/{board}/screenshot.png").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_token(page)})

    accounts.login("operator", email="op@example.org")
    page = client.get(f"/screens/{board}")
    assert f'action="/screens/{board}/screenshot"' in page.get_data(as_text=True)
    assert client.post(f"/screens/{board}/screenshot", data={}).status_code == 400  # no CSRF token
    assert client.post(f"/screens/{board}/screenshot", data={"csrf_token": csrf_token(page)}).status_code == 302
    # A different body from the first heartbeat's: the same bytes signed in the same second are a replay.
    wanted = post_signed(client, url, secret, {"version": None, "at": datetime.now(UTC).isoformat()})
    assert wanted.get_json()["screenshot_wanted"] is True
    picture = _png((200, 30, 30))
    sent = post_signed(client, url, secret, {"version": None, "screenshot": base64.b64encode(picture).decode()})
    assert sent.status_code == 200 and sent.get_json()["screenshot_wanted"] is False
    shown = client.get(f"/screens/{board}/screenshot.png")
    assert shown.status_code == 200 and shown.get_data() == picture and shown.mimetype == "image/png"
    assert f"/screens/{board}/screenshot.png" in client.get(f"/screens/{board}").get_data(as_text=True)
    # One nobody asked for is dropped; a newer requested one replaces the old, whose file goes.
    from cms.extensions import db
    from cms.models import BoardHealth
    from cms.services.media import storage

    with app.app_context():
        old_key = db.session.get(BoardHealth, board).screenshot_key
    post_signed(client, url, secret, {"version": None, "screenshot": base64.b64encode(_png((0, 200, 0))).decode()})
    assert client.get(f"/screens/{board}/screenshot.png").get_data() == picture
    page = client.get(f"/screens/{board}")
    client.post(f"/screens/{board}/screenshot", data={"csrf_token": csrf_token(page)})
    post_signed(client, url, secret, {"version": None, "screenshot": base64.b64encode(_png((0, 0, 200))).decode()})
    assert client.get(f"/screens/{board}/screenshot.png").get_data() == _png((0, 0, 200))
    assert not storage(app.config["PANOLED"]).exists(old_key)

    client.post("/logout", data={"csrf_token": csrf_token(page)})
    assert client.get(f"/screens/{board}/screenshot.png").status_code == 302  # signed out: to the login page
    assert client.get("/screens/alerts").status_code == 302


def test_a_version_far_above_ours_is_not_believed(client, app: Flask, accounts: Accounts) -> None:
    """A faulty or hostile board saying it holds version 2,147,483,647 must not make the
    next reconcile number a manifest beyond what the database can hold, for every board."""
    from board_calls import sync_of
    from cms.services.manifests import reconcile

    board, secret = new_board(client, accounts.token("operator"), "HB-BIG")
    make_manifest(app, board, 3)
    url = f"/api/v1/screens/{board}/heartbeat"
    assert post_signed(client, url, secret, {"version": 2**31 - 1}).status_code == 200
    assert sync_of(app, board) == (3, 0, 0)
    assert post_signed(client, url, secret, {"version": 7}).status_code == 200  # a restored database: a little ahead
    assert sync_of(app, board) == (3, 0, 7)
    with app.app_context():
        assert reconcile(app.config["PANOLED"], datetime.now(UTC)).new_versions[board] == 8


def test_a_polled_board_never_seen_is_no_alert_before_its_first_polls_could_have_seen_it(
        client, app: Flask, accounts: Accounts) -> None:
    """A board that cannot call in (VNNOX) is heard of only through the scheduler's status polls:
    never seen, it counts as offline three poll intervals after registration, an alert 15 min later."""
    operator = accounts.token("operator")
    quiet = client.post("/api/v1/screens", headers=operator, json={
        "name": "VNNOX", "code": "VN-1", "width": 960, "height": 320, "adapter": "novastar-vnnox",
        "adapter_options": {"app_key": "k", "app_secret": "s", "player_id": "p", "media_base_url": "https://cdn.example.vn/"}})
    assert quiet.status_code == 201, quiet.get_json()
    new_board(client, operator, "SIM-QUIET")
    now = datetime.now(UTC)
    polls = timedelta(seconds=3 * app.config["PANOLED"].boards.status_poll_seconds)
    assert _alerts(app, now + timedelta(minutes=16)) == {("offline", "SIM-QUIET")}
    assert ("offline", "VN-1") not in _alerts(app, now + polls + timedelta(minutes=14))
    assert ("offline", "VN-1") in _alerts(app, now + polls + timedelta(minutes=16))


def test_unexpected_content_follows_the_version_the_board_acknowledged(client, app: Flask, accounts: Accounts) -> None:
    """The alerts keep the assets each acknowledged manifest names between views; a board moving
    to a newer version is judged by that version's assets, not by what an earlier view kept."""
    board, secret = new_board(client, accounts.token("operator"), "AL-MOVES")
    url = f"/api/v1/screens/{board}/heartbeat"
    make_manifest(app, board, 1, (21,))
    post_signed(client, url, secret, {"version": 1, "asset_id": 21})
    now = datetime.now(UTC)
    assert _alerts(app, now) == set()
    post_signed(client, url, secret, {"version": 1, "asset_id": 22})
    assert _alerts(app, now) == {("unexpected_content", "AL-MOVES")}
    make_manifest(app, board, 2, (22,))
    post_signed(client, url, secret, {"version": 2, "asset_id": 22, "at": now.isoformat()})
    assert _alerts(app, now) == set()  # version 2 names asset 22
    post_signed(client, url, secret, {"version": 2, "asset_id": 21})
    assert _alerts(app, now) == {("unexpected_content", "AL-MOVES")}  # and no longer 21
