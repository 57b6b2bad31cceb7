"""The "on air now" list, the board's deliveries, and its fallback playlist."""
from __future__ import annotations

import re
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


T0 = datetime(2030, 5, 6, 1, 0, tzinfo=UTC)


def _acknowledged_manifest(app: Flask, screen_id: int, version: int, segments: list[tuple[timedelta, timedelta, str, int | None, int | None, int]],
                           playlists: dict[int, list[tuple[int, int]]], replace: bool = False) -> None:
    """A manifest the board acknowledged: `segments` as (from T0, until T0, kind, rule, playlist, first item),
    `playlists` as {id: [(asset id, seconds)]}, every asset named "asset-<id>.png" of campaign 4.
    `replace` puts it in place of the board's manifest of that version (a restored database)."""
    from sqlalchemy import delete

    from cms.extensions import db
    from cms.models import BoardSync, Manifest
    from cms.services.manifests import content_hash

    assets = sorted({asset for items in playlists.values() for asset, _seconds in items})
    body = {"schema": "panoled.manifest/1",
            "media": [{"asset_id": a, "campaign_id": 4, "kind": "poster", "name": f"asset-{a}.png", "ready": True,
                       "path": f"/api/v1/screens/{screen_id}/media/{a}"} for a in assets],
            "playlists": [{"playlist_id": p, "items": [{"asset_id": a, "campaign_id": 4, "duration": d} for a, d in items]}
                          for p, items in sorted(playlists.items())],
            "segments": [{"start": (T0 + start).isoformat(), "end": (T0 + end).isoformat(), "kind": kind, "rule_id": rule,
                          "playlist_id": playlist, "first_item": first, "truncated": False}
                         for start, end, kind, rule, playlist, first in segments]}
    with app.app_context():
        if replace:
            db.session.execute(delete(Manifest).where(Manifest.screen_id == screen_id, Manifest.version == version))
        db.session.add(Manifest(screen_id=screen_id, version=version, content_hash=content_hash(body), valid_from=T0,
                                valid_until=T0 + timedelta(days=2), body=body | {"version": version}, boundaries=[], created_at=T0))
        sync = db.session.get(BoardSync, screen_id)
        if sync is None:
            db.session.add(BoardSync(screen_id=screen_id, input_fingerprint="", latest_version=version, acknowledged_version=version,
                                     reported_version=version, failures=0, last_result="ok", last_error=""))
        else:
            sync.latest_version = sync.acknowledged_version = sync.reported_version = version
        db.session.commit()


def _on_screen(app: Flask, code: str, at: timedelta) -> tuple[str, int | None, str] | None:
    """(kind, asset id, asset name) the "on air now" list shows for the board at T0 + `at`; None when dark."""
    from cms.services.manifests import on_air

    with app.app_context():
        row = next(r for r in on_air(T0 + at) if r["code"] == code)
    return (row["now"]["kind"], row["now"]["asset_id"], row["now"]["name"]) if row["now"] else None


def test_what_plays_now_follows_segments_and_hours_after_the_list_was_first_shown(client, app: Flask, accounts: Accounts) -> None:
    """The list keeps a digest of the next hour or so of each manifest: inside it, and after it, the answer
    is what the whole manifest says."""
    from board_calls import new_board

    screen_id, _secret = new_board(client, accounts.token("operator"), "DG-1")
    minutes, seconds = (lambda n: timedelta(minutes=n)), (lambda n: timedelta(seconds=n))
    _acknowledged_manifest(app, screen_id, 1, [
        (minutes(0), minutes(30), "rule", 1, 1, 1),  # starts on its second item: 22 for 20 s, then 21 for 10 s
        (minutes(30), minutes(90), "fill", None, 2, 0),
        (minutes(240), minutes(360), "interrupt", 3, 3, 0),  # after three dark hours
    ], {1: [(21, 10), (22, 20)], 2: [(23, 15)], 3: [(24, 30)]})
    assert _on_screen(app, "DG-1", seconds(5)) == ("rule", 22, "asset-22.png")
    assert _on_screen(app, "DG-1", seconds(25)) == ("rule", 21, "asset-21.png")
    assert _on_screen(app, "DG-1", minutes(29) + seconds(35)) == ("rule", 22, "asset-22.png")
    assert _on_screen(app, "DG-1", minutes(31)) == ("fill", 23, "asset-23.png")  # across a segment's end
    assert _on_screen(app, "DG-1", minutes(100)) is None
    assert _on_screen(app, "DG-1", minutes(250)) == ("interrupt", 24, "asset-24.png")  # hours past the first view
    assert _on_screen(app, "DG-1", minutes(45)) == ("fill", 23, "asset-23.png")  # and back: an earlier moment
    assert _on_screen(app, "DG-1", minutes(400)) is None


def test_a_newer_or_restored_manifest_replaces_what_the_list_showed(client, app: Flask, accounts: Accounts) -> None:
    from board_calls import new_board, post_signed

    operator = accounts.token("operator")
    screen_id, secret = new_board(client, operator, "DG-2")
    new_board(client, operator, "DG-0")  # listed first; its page is not DG-2's
    whole_day = (timedelta(hours=-24), timedelta(hours=24), "rule", 1, 1, 0)
    _acknowledged_manifest(app, screen_id, 1, [whole_day], {1: [(31, 10)]})
    assert _on_screen(app, "DG-2", timedelta(minutes=1)) == ("rule", 31, "asset-31.png")
    _acknowledged_manifest(app, screen_id, 2, [whole_day], {1: [(32, 10)]})
    assert _on_screen(app, "DG-2", timedelta(minutes=2)) == ("rule", 32, "asset-32.png")
    # A restored database holds another version 2 of the board's manifest.
    _acknowledged_manifest(app, screen_id, 2, [whole_day], {1: [(33, 10)]}, replace=True)
    assert _on_screen(app, "DG-2", timedelta(minutes=3)) == ("rule", 33, "asset-33.png")

    # The pages show what plays at this moment: a manifest around it, and a newer one the board acknowledges.
    now = datetime.now(UTC) - T0
    around_now = (now - timedelta(hours=3), now + timedelta(hours=3), "rule", 1, 1, 0)
    _acknowledged_manifest(app, screen_id, 3, [around_now], {1: [(34, 10)]})
    accounts.login("auditor")
    page = client.get("/screens/on-air").get_data(as_text=True)
    assert "asset-34.png" in page and "asset-33.png" not in page
    _acknowledged_manifest(app, screen_id, 4, [around_now], {1: [(35, 10)]})
    page = client.get("/screens/on-air").get_data(as_text=True)
    assert "asset-35.png" in page and "asset-34.png" not in page
    status = {b["code"]: b for b in client.get("/api/v1/screens/status", headers=operator).get_json()["boards"]}["DG-2"]
    assert (status["acknowledged_version"], status["now"]["asset_id"]) == (4, 35)
    assert post_signed(client, f"/api/v1/screens/{screen_id}/heartbeat", secret, {"version": 4, "asset_id": 35}).status_code == 200
    assert 'data-online="true"' in client.get("/screens/on-air").get_data(as_text=True)
    # The board's page shows its own health and deliveries: online, playing version 4, which is our newest.
    health, deliveries = client.get(f"/screens/{screen_id}").get_data(as_text=True).split('id="delivery-head"')[:2]
    assert re.search(r'id="health-head".*<span class="badge ok">.*<dd>4</dd>', health, re.S)
    assert len(re.findall(r"<dd>\D*\b4\b", deliveries)) == 2 and '<span class="badge ok">' in deliveries


def test_a_thousand_boards_are_read_a_hundred_at_a_time_or_one_group_at_a_time(client, app: Flask, accounts: Accounts) -> None:
    from cms.extensions import db
    from cms.services.audit import Actor
    from cms.services.screens import ScreenInput, create_screen

    with app.app_context():  # 203 boards in two districts (names sort as codes do)
        for n in range(203):
            create_screen(ScreenInput(name=f"Board {n:03d}", code=f"PG-{n:03d}", width=192, height=96, adapter_kind="webplayer",
                                      group_name="Châu Đức" if n % 3 == 0 else "Bà Rịa"), Actor.command_line())
        db.session.commit()
    order = sorted(range(203), key=lambda n: ("Châu Đức" if n % 3 == 0 else "Bà Rịa", n))
    accounts.login("auditor")
    page = client.get("/screens/")
    client.post("/language", data={"csrf_token": csrf_token(page), "lang": "en", "next": "/screens/"})
    for path in ("/screens/on-air", "/screens/"):
        seen: list[str] = []
        for number in (1, 2, 3):
            page = client.get(f"{path}?page={number}").get_data(as_text=True)
            codes = re.findall(r">(PG-\d{3})</a>", page)
            assert len(codes) == (100 if number < 3 else 3), (path, number)
            first = (number - 1) * 100 + 1
            assert f"Boards {first}–{first + len(codes) - 1} of 203" in page
            assert ('rel="prev"' in page) == (number > 1) and ('rel="next"' in page) == (number < 3)
            seen += codes
        assert seen == [f"PG-{n:03d}" for n in order]  # every board once, by group then name
        beyond = client.get(f"{path}?page=9").get_data(as_text=True)  # past the end: the last page
        assert re.findall(r">(PG-\d{3})</a>", beyond) == seen[200:]
        district = client.get(f"{path}?group=Châu Đức").get_data(as_text=True)
        assert re.findall(r">(PG-\d{3})</a>", district) == [f"PG-{n:03d}" for n in range(0, 203, 3)]
        assert "Boards 1–68 of 68" in district and 'rel="next"' not in district
        assert '<option value="Châu Đức" selected>' in district
        nobody = client.get(f"{path}?group=Nowhere").get_data(as_text=True)
        assert re.findall(r">(PG-\d{3})</a>", nobody) == [] and "No board in the group Nowhere." in nobody
        assert client.get(f"{path}?page=x").status_code == 200
