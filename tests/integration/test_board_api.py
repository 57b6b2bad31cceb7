"""The API the boards call: their own secret, signed bodies, manifests with long-poll, media, heartbeats, plays."""
from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from board_calls import bearer, make_manifest, new_board, post_signed, sync_of
from conftest import Accounts
from display_adapters.signing import board_key, signed_headers, verify


# ---------------------------------------------------------------------------
# Who may call


def test_board_calls_need_that_boards_own_secret(client, app: Flask, accounts: Accounts) -> None:
    operator = accounts.token("operator")
    board, secret = new_board(client, operator, "AUTH-1")
    other, other_secret = new_board(client, operator, "AUTH-2")
    make_manifest(app, board, 1)
    url = f"/api/v1/screens/{board}/manifest"
    assert client.get(url, headers=bearer(secret)).status_code == 200
    for headers in ({}, bearer("pnb_wrong"), bearer(other_secret), {"Authorization": secret},
                    accounts.token("admin"), operator):
        refused = client.get(url, headers=headers)
        assert refused.status_code == 401, headers
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert refused.get_json()["error"]["code"] == "board_unauthorized"
    assert client.get("/api/v1/screens/99999/manifest", headers=bearer(secret)).status_code == 401
    # A board's secret is no person's token.
    assert client.get("/api/v1/screens", headers=bearer(secret)).status_code == 401
    assert client.get(f"/api/v1/screens/{board}", headers=bearer(secret)).status_code == 401


def test_a_rotated_secret_replaces_the_old_one_and_its_signing_key(client, app: Flask, accounts: Accounts) -> None:
    operator = accounts.token("operator")
    board, old = new_board(client, operator, "ROT-1")
    new = client.post(f"/api/v1/screens/{board}/secret", headers=operator).get_json()["secret"]
    beat = {"version": None, "asset_id": None, "at": datetime.now(UTC).isoformat()}
    assert post_signed(client, f"/api/v1/screens/{board}/heartbeat", old, beat).status_code == 401
    assert post_signed(client, f"/api/v1/screens/{board}/heartbeat", new, beat, key=board_key(old)).status_code == 401
    assert post_signed(client, f"/api/v1/screens/{board}/heartbeat", new, beat).status_code == 200


def test_an_inactive_board_is_refused(client, app: Flask, accounts: Accounts) -> None:
    from cms.extensions import db
    from cms.models import Screen

    board, secret = new_board(client, accounts.token("operator"), "OFF-1")
    with app.app_context():
        db.session.get(Screen, board).active = False
        db.session.commit()
    refused = client.get(f"/api/v1/screens/{board}/manifest", headers=bearer(secret))
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "board_inactive"


def _reason(response: Any) -> str:
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    error = response.get_json()["error"]
    assert error["code"] == "signature_invalid"
    return error["message"]


def test_posted_bodies_need_a_fresh_valid_signature_once(client, app: Flask, accounts: Accounts) -> None:
    board, secret = new_board(client, accounts.token("operator"), "SIG-1")
    url = f"/api/v1/screens/{board}/heartbeat"
    raw = json.dumps({"version": None}).encode()
    plain = bearer(secret) | {"Content-Type": "application/json"}
    assert "required" in _reason(client.post(url, data=raw, headers=plain))
    assert "Unix seconds" in _reason(client.post(url, data=raw, headers=plain | {
        "X-Panoled-Timestamp": "yesterday", "X-Panoled-Signature": "sha256=00"}))
    assert "does not match" in _reason(client.post(url, data=raw, headers=plain | signed_headers(board_key("pnb_other"), raw)))
    assert "does not match" in _reason(client.post(url, data=b'{"version": 7}', headers=plain | signed_headers(board_key(secret), raw)))
    assert "more than 300 s" in _reason(post_signed(client, url, secret, {"version": None}, now=time.time() - 600))
    assert "more than 300 s" in _reason(post_signed(client, url, secret, {"version": None}, now=time.time() + 600))
    signed = plain | signed_headers(board_key(secret), raw)
    assert client.post(url, data=raw, headers=signed).status_code == 200
    assert "replay" in _reason(client.post(url, data=raw, headers=signed))


def test_a_board_registered_before_signatures_must_rotate_its_secret(client, app: Flask, accounts: Accounts) -> None:
    from cms.extensions import db
    from cms.models import Screen

    board, secret = new_board(client, accounts.token("operator"), "OLD-1")
    with app.app_context():
        db.session.get(Screen, board).signing_key = ""
        db.session.commit()
    assert "rotate" in _reason(post_signed(client, f"/api/v1/screens/{board}/heartbeat", secret, {"version": None}))


# ---------------------------------------------------------------------------
# The manifest


def test_the_manifest_is_signed_and_answers_304_for_the_version_the_board_has(client, app: Flask, accounts: Accounts) -> None:
    board, secret = new_board(client, accounts.token("operator"), "MAN-1")
    assert client.get(f"/api/v1/screens/{board}/manifest", headers=bearer(secret)).get_json()["error"]["code"] == "manifest_not_found"
    make_manifest(app, board, 3)
    got = client.get(f"/api/v1/screens/{board}/manifest", headers=bearer(secret))
    assert got.status_code == 200 and got.headers["ETag"] == '"v3"' and got.get_json()["version"] == 3
    verify(board_key(secret), got.headers["X-Panoled-Timestamp"], got.headers["X-Panoled-Signature"], got.get_data())
    same = client.get(f"/api/v1/screens/{board}/manifest", headers=bearer(secret) | {"If-None-Match": '"v3"'})
    assert same.status_code == 304 and same.headers["ETag"] == '"v3"' and same.get_data() == b""
    older = client.get(f"/api/v1/screens/{board}/manifest", headers=bearer(secret) | {"If-None-Match": '"v2"'})
    assert older.status_code == 200 and older.get_json()["version"] == 3
    assert sync_of(app, board) == (3, 0, 0)  # fetching acknowledges nothing
    bad = client.get(f"/api/v1/screens/{board}/manifest?wait=60", headers=bearer(secret))
    assert bad.status_code == 422


def test_a_long_poll_answers_as_soon_as_a_new_version_is_made(client, app: Flask, accounts: Accounts) -> None:
    board, secret = new_board(client, accounts.token("operator"), "POLL-1")
    make_manifest(app, board, 1)
    maker = threading.Timer(0.8, make_manifest, args=(app, board, 2))
    started = time.monotonic()
    maker.start()
    got = client.get(f"/api/v1/screens/{board}/manifest?wait=20", headers=bearer(secret) | {"If-None-Match": '"v1"'})
    waited = time.monotonic() - started
    maker.join()
    assert got.status_code == 200 and got.get_json()["version"] == 2 and got.headers["ETag"] == '"v2"'
    assert 0.7 <= waited < 5


def test_a_long_poll_with_nothing_new_ends_with_304(client, app: Flask, accounts: Accounts) -> None:
    board, secret = new_board(client, accounts.token("operator"), "POLL-2")
    make_manifest(app, board, 1)
    started = time.monotonic()
    got = client.get(f"/api/v1/screens/{board}/manifest?wait=1", headers=bearer(secret) | {"If-None-Match": '"v1"'})
    assert got.status_code == 304 and 0.9 <= time.monotonic() - started < 4


# ---------------------------------------------------------------------------
# Media


def test_a_board_gets_only_media_its_manifests_name_in_its_own_size(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    from cms.extensions import db
    from cms.models import MediaAsset
    from schedule_setup import published_playlist

    editor, approver = accounts.token("editor"), accounts.token("approver")
    board, secret = new_board(client, accounts.token("operator"), "MED-1")
    published_playlist(client, app, editor, approver, seed=1)
    published_playlist(client, app, editor, approver, seed=2)
    with app.app_context():
        first, second = sorted(db.session.scalars(db.select(MediaAsset.id)))
        expected = db.session.get(MediaAsset, first).derivative("rendition", "960x320").notes["sha256"]
    make_manifest(app, board, 1, (first,))
    url = f"/api/v1/screens/{board}/media/{first}"
    got = client.get(url, headers=bearer(secret))
    assert got.status_code == 200 and got.headers["ETag"] == f'"{expected}"'
    from PIL import Image
    import io
    assert Image.open(io.BytesIO(got.get_data())).size == (960, 320)
    part = client.get(url, headers=bearer(secret) | {"Range": "bytes=0-9"})
    assert part.status_code == 206 and len(part.get_data()) == 10
    assert client.get(url, headers=bearer(secret) | {"If-None-Match": f'"{expected}"'}).status_code == 304
    outside = client.get(f"/api/v1/screens/{board}/media/{second}", headers=bearer(secret))
    assert outside.status_code == 404 and outside.get_json()["error"]["code"] == "media_not_in_manifest"
    other, other_secret = new_board(client, accounts.token("operator", "op2@example.org"), "MED-2")
    assert client.get(f"/api/v1/screens/{other}/media/{first}", headers=bearer(other_secret)).status_code == 404
    assert client.get(url, headers=bearer(other_secret)).status_code == 401
    # The acknowledged manifest still counts while a newer one is on its way.
    post_signed(client, f"/api/v1/screens/{board}/heartbeat", secret, {"version": 1, "asset_id": first})
    make_manifest(app, board, 2, (second,))
    assert client.get(url, headers=bearer(secret)).status_code == 200
    assert client.get(f"/api/v1/screens/{board}/media/{second}", headers=bearer(secret)).status_code == 200


# ---------------------------------------------------------------------------
# Heartbeats


def test_a_heartbeat_acknowledges_versions_we_made_and_only_upward(client, app: Flask, accounts: Accounts) -> None:
    board, secret = new_board(client, accounts.token("operator"), "HB-1")
    url = f"/api/v1/screens/{board}/heartbeat"
    make_manifest(app, board, 1)
    make_manifest(app, board, 2)
    answer = post_signed(client, url, secret, {"version": 2, "asset_id": None, "at": "2024-06-05T08:00:00+07:00"})
    assert answer.status_code == 200 and answer.get_json() == {"screenshot_wanted": False, "manifest_version": 2}
    assert sync_of(app, board) == (2, 2, 2)
    post_signed(client, url, secret, {"version": 1})
    assert sync_of(app, board) == (2, 2, 2)  # never back down
    post_signed(client, url, secret, {"version": 9})
    assert sync_of(app, board) == (2, 2, 9)  # a version we never made is held, not acknowledged
    for bad in ({"version": "2"}, {"version": 1.5}, {"asset_id": -1}, {"at": "yesterday"}, {"at": "2024-06-05T08:00:00"},
                {"screenshot": "not base64!"}, {"screenshot": "aGVsbG8="}, [1]):
        refused = post_signed(client, url, secret, bad)
        assert refused.status_code == 422, bad


# ---------------------------------------------------------------------------
# Playback logs


def _play(asset_id: int, start: datetime, seconds: float = 15, version: int = 1, **extra: Any) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "asset_id": asset_id, "manifest_version": version,
            "start": start.isoformat(), "end": (start + timedelta(seconds=seconds)).isoformat(), "frame_hash": None} | extra


def _stored(app: Flask, screen_id: int) -> list[Any]:
    from cms.extensions import db
    from cms.models import PlaybackEvent

    with app.app_context():
        return list(db.session.scalars(db.select(PlaybackEvent).where(PlaybackEvent.screen_id == screen_id)
                                       .order_by(PlaybackEvent.started_at)))


def _campaign_asset(client: Any, app: Flask, accounts: Accounts) -> int:
    import media_files
    from cms.services.derivatives import work_until_idle

    answer = client.post("/api/v1/media?campaign_id=4&filename=Áp phích.png", data=media_files.png_bytes(),
                         headers=accounts.token("editor") | {"Content-Type": "application/octet-stream"})
    with app.app_context():
        work_until_idle(app.config["PANOLED"])
    return answer.get_json()["id"]


def _registered_days_ago(app: Flask, screen_id: int, days: int) -> None:
    from cms.extensions import db
    from cms.models import Screen

    with app.app_context():
        db.session.get(Screen, screen_id).created_at = datetime.now(UTC) - timedelta(days=days)
        db.session.commit()


def test_a_batch_sent_twice_stores_each_play_once(client, app: Flask, accounts: Accounts, imported_plan: Any) -> None:
    board, secret = new_board(client, accounts.token("operator"), "LOG-1")
    _registered_days_ago(app, board, 90)
    asset = _campaign_asset(client, app, accounts)
    make_manifest(app, board, 1, (asset,))
    url = f"/api/v1/screens/{board}/playlogs"
    now = datetime.now(UTC)
    plays = [_play(asset, now - timedelta(minutes=m)) for m in (3, 2, 1)]
    first = post_signed(client, url, secret, {"plays": plays})
    assert first.status_code == 200
    assert first.get_json() == {"new": [p["event_id"] for p in plays], "duplicates": []}
    later = _play(asset, now - timedelta(days=21))  # weeks late, out of order
    again = post_signed(client, url, secret, {"plays": [plays[1], later, plays[0], later]}).get_json()
    assert again == {"new": [later["event_id"]], "duplicates": [plays[1]["event_id"], plays[0]["event_id"], later["event_id"]]}
    stored = _stored(app, board)
    assert len(stored) == 4 and stored[0].event_id == later["event_id"] and stored[0].flags == []
    assert stored[0].started_at == datetime.fromisoformat(later["start"])
    row = stored[-1]
    assert (row.asset_id, row.asset_name, row.campaign_id, row.screen_code, row.screen_name) == (asset, "Áp phích.png", 4, "LOG-1", "Bảng LOG-1")
    assert row.campaign_title.startswith("Tổ chức hoạt động thuộc “Tháng hành động vì môi trường”")
    upper = dict(plays[2], event_id=plays[2]["event_id"].upper())  # the same uuid written another way
    assert post_signed(client, url, secret, {"plays": [upper]}).get_json()["duplicates"] == [plays[2]["event_id"]]


def test_the_same_batch_posted_twice_at_once_is_stored_once(client, app: Flask, accounts: Accounts) -> None:
    board, secret = new_board(client, accounts.token("operator"), "LOG-2")
    start = datetime.now(UTC) - timedelta(hours=1)
    plays = [_play(7, start + timedelta(seconds=15 * i)) for i in range(300)]
    barrier = threading.Barrier(2)

    def send(stamp_offset: int) -> dict[str, Any]:
        sender = app.test_client()
        raw = json.dumps({"plays": plays}).encode()
        headers = bearer(secret) | {"Content-Type": "application/json"} | signed_headers(
            board_key(secret), raw, time.time() + stamp_offset)  # different timestamps: not a replay
        barrier.wait()
        answer = sender.post(f"/api/v1/screens/{board}/playlogs", data=raw, headers=headers)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return answer.get_json()

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(send, (0, 1)))
    ids = {p["event_id"] for p in plays}
    assert sorted(len(a["new"]) for a in answers) in ([0, 300], [0, 300])  # one batch wins whole...
    assert set(answers[0]["new"]) | set(answers[1]["new"]) == ids
    assert set(answers[0]["new"]).isdisjoint(answers[1]["new"])
    assert all(set(a["new"]) | set(a["duplicates"]) == ids for a in answers)
    assert len(_stored(app, board)) == 300


@pytest.mark.parametrize("bad", [
    {"event_id": "not-a-uuid"}, {"asset_id": "3"}, {"asset_id": 0}, {"manifest_version": None},
    {"start": "2024-06-05 08:00"}, {"end": "2024-06-05T08:00:00"}, {"frame_hash": 12}, {"frame_hash": "x" * 129},
    {"frame_hash": "ab\x00cd"}, {"frame_hash": "ab\ud800"},
])
def test_one_bad_play_refuses_the_whole_batch(client, app: Flask, accounts: Accounts, bad: dict[str, Any]) -> None:
    board, secret = new_board(client, accounts.token("operator"), "LOG-3")
    now = datetime.now(UTC) - timedelta(hours=1)
    plays = [_play(1, now), _play(1, now + timedelta(seconds=15)) | bad, _play(1, now + timedelta(seconds=30))]
    refused = post_signed(client, f"/api/v1/screens/{board}/playlogs", secret, {"plays": plays})
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["code"] == "play_invalid" and error["message"].startswith(f"plays[1].{next(iter(bad))}")
    assert _stored(app, board) == []


def test_batches_are_limited_and_shaped(client, app: Flask, accounts: Accounts) -> None:
    board, secret = new_board(client, accounts.token("operator"), "LOG-4")
    url = f"/api/v1/screens/{board}/playlogs"
    start = datetime.now(UTC) - timedelta(days=1)
    assert post_signed(client, url, secret, {"plays": [_play(1, start)] * 1001}).get_json()["error"]["code"] == "batch_too_large"
    assert post_signed(client, url, secret, {"plays": {}}).status_code == 422
    assert post_signed(client, url, secret, [1]).status_code == 422
    backwards = _play(1, start) | {"end": (start - timedelta(seconds=1)).isoformat()}
    assert post_signed(client, url, secret, {"plays": [backwards]}).status_code == 422
    assert post_signed(client, url, secret, {"plays": []}).get_json() == {"new": [], "duplicates": []}
    full = [_play(1, start + timedelta(seconds=10 * i)) for i in range(1000)]
    assert len(post_signed(client, url, secret, {"plays": full}).get_json()["new"]) == 1000


def test_plays_in_the_future_or_before_the_board_existed_are_kept_and_flagged(client, app: Flask, accounts: Accounts) -> None:
    board, secret = new_board(client, accounts.token("operator"), "LOG-5")
    _registered_days_ago(app, board, 1)
    now = datetime.now(UTC)
    ahead = _play(999, now + timedelta(minutes=30))
    before = _play(999, now - timedelta(days=400))
    fine = _play(999, now - timedelta(minutes=1))
    slightly = _play(999, now + timedelta(minutes=1))  # within 5 min: clocks drift
    answer = post_signed(client, f"/api/v1/screens/{board}/playlogs", secret, {"plays": [ahead, before, fine, slightly]})
    assert len(answer.get_json()["new"]) == 4
    flags = {row.event_id: row.flags for row in _stored(app, board)}
    assert flags[ahead["event_id"]] == ["clock_skew", "unknown_asset", "unknown_manifest"]
    assert flags[before["event_id"]] == ["clock_skew", "unknown_asset", "unknown_manifest"]
    assert flags[fine["event_id"]] == flags[slightly["event_id"]] == ["unknown_asset", "unknown_manifest"]


def test_a_play_the_boards_manifests_do_not_vouch_for_is_kept_and_flagged(client, app: Flask, accounts: Accounts,
                                                                         imported_plan: Any) -> None:
    board, secret = new_board(client, accounts.token("operator"), "LOG-7")
    _registered_days_ago(app, board, 1)
    asset = _campaign_asset(client, app, accounts)
    make_manifest(app, board, 1, (555,))
    now = datetime.now(UTC)
    outside = _play(asset, now - timedelta(minutes=3), version=1)  # a real asset its manifest does not name
    invented = _play(asset, now - timedelta(minutes=2), version=999)  # a version never made
    post_signed(client, f"/api/v1/screens/{board}/playlogs", secret, {"plays": [outside, invented]})
    flags = {row.event_id: row.flags for row in _stored(app, board)}
    assert flags == {outside["event_id"]: ["not_in_manifest"], invented["event_id"]: ["unknown_manifest"]}


def test_times_outside_2000_to_2100_are_refused_and_nothing_is_stored(client, app: Flask, accounts: Accounts) -> None:
    board, secret = new_board(client, accounts.token("operator"), "LOG-8")
    for start in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"):
        play = {"event_id": str(uuid.uuid4()), "asset_id": 1, "manifest_version": 1, "start": start, "end": start}
        answer = post_signed(client, f"/api/v1/screens/{board}/playlogs", secret, {"plays": [play]})
        assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "play_invalid"
    beat = post_signed(client, f"/api/v1/screens/{board}/heartbeat", secret, {"at": "9999-12-31T23:59:59-12:00"})
    assert beat.status_code == 422
    assert _stored(app, board) == []


def test_a_body_nested_too_deep_is_refused_like_any_bad_body(client, accounts: Accounts) -> None:
    headers = accounts.token("editor") | {"Content-Type": "application/json"}
    answer = client.post("/api/v1/playlists", data="[" * 200_000, headers=headers)
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "body_not_json"


def test_a_play_of_media_gone_from_the_library_keeps_the_names_its_manifest_gave(client, app: Flask, accounts: Accounts) -> None:
    board, secret = new_board(client, accounts.token("operator"), "LOG-6")
    _registered_days_ago(app, board, 1)
    make_manifest(app, board, 4, (555,))
    play = _play(555, datetime.now(UTC) - timedelta(minutes=5), version=4)
    post_signed(client, f"/api/v1/screens/{board}/playlogs", secret, {"plays": [play]})
    row = _stored(app, board)[0]
    assert (row.asset_name, row.campaign_id, row.flags) == ("m555.png", 4, [])
