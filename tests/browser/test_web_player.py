"""The web player in real headless Chromium, against the CMS served over real HTTP on 127.0.0.1.

A `webplayer` board gets a three-item playlist (pictures of 2, 3 and 2.5 s) through a
schedule rule and the scheduler's reconcile. The player plays by the browser's clock, so
the rule's dates run from yesterday to tomorrow. The page is given the board's secret once,
plays the items in order, keeps playing while the CMS server is stopped, and when the
server comes back on the same port uploads the plays it kept: every play it recorded
arrives exactly once, each as long as its item. Other tests: a wrong secret is refused
with a clear message; the JS board key and signatures agree with Python's; a new
manifest is picked up within 10 s; a screenshot asked for arrives with a heartbeat; and
a restart without the CMS plays from what the browser kept.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

import media_files
from board_calls import new_board
from conftest import Accounts
from display_adapters.signing import board_key, sign

pytestmark = pytest.mark.browser

CAMPAIGN = 4
DURATIONS = (2.0, 3.0, 2.5)
WIDTH, HEIGHT = 960, 320
PLAYER_STATUS = "() => window.panoledPlayer ? window.panoledPlayer.status() : null"


class Server:
    """The app on a fixed local port that can be stopped and started again."""

    def __init__(self, app: Flask) -> None:
        self.app, self.port = app, 0
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="player-cms", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(timeout=10)
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def cms(app: Flask) -> Iterator[Server]:
    server = Server(app)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Board:
    id: int
    secret: str
    assets: list[int]
    editor: dict[str, str]
    approver: dict[str, str]


def approved_picture(client: Any, app: Flask, editor: dict[str, str], approver: dict[str, str], seed: int) -> int:
    from cms.services.derivatives import work_until_idle

    colour = ((seed * 90) % 256, (80 + seed * 50) % 256, (200 - seed * 60) % 256)
    asset = client.post(f"/api/v1/media?campaign_id={CAMPAIGN}&filename=anh-{seed}.png",
                        data=media_files.png_bytes(width=960, height=320, colour=colour),
                        headers=editor | {"Content-Type": "application/octet-stream"}).get_json()["id"]
    with app.app_context():
        work_until_idle(app.config["PANOLED"])
    client.post(f"/api/v1/media/{asset}/transitions", headers=editor, json={"to": "pending"})
    assert client.post(f"/api/v1/media/{asset}/transitions", headers=approver, json={"to": "approved"}).status_code == 200
    return asset


def published(client: Any, editor: dict[str, str], name: str, items: list[tuple[int, float]]) -> int:
    playlist = client.post("/api/v1/playlists", headers=editor, json={"campaign_id": CAMPAIGN, "name": name}).get_json()["id"]
    for asset, duration in items:
        assert client.post(f"/api/v1/playlists/{playlist}/items", headers=editor,
                           json={"asset_id": asset, "duration": duration}).status_code == 201
    assert client.post(f"/api/v1/playlists/{playlist}/publish", headers=editor).status_code == 200
    return playlist


def around_today() -> dict[str, str]:
    """Rule dates from yesterday to tomorrow: the player plays by the browser's clock, today."""
    today = datetime.now(UTC).date()
    return {"date_from": (today - timedelta(days=1)).isoformat(), "date_to": (today + timedelta(days=1)).isoformat()}


def reconcile_now(app: Flask) -> dict[int, int]:
    from cms.services.manifests import reconcile

    with app.app_context():
        return reconcile(app.config["PANOLED"], datetime.now(UTC)).new_versions


@pytest.fixture
def board(client: Any, app: Flask, accounts: Accounts, imported_plan: Any) -> Board:
    """A web player board whose manifest (version 1) loops three pictures all day."""
    editor, approver = accounts.token("editor"), accounts.token("approver")
    screen_id, secret = new_board(client, accounts.token("operator"), "VT-KIOSK", "webplayer", WIDTH, HEIGHT)
    assets = [approved_picture(client, app, editor, approver, seed) for seed in range(3)]
    playlist = published(client, editor, "Ba ảnh", list(zip(assets, DURATIONS)))
    assert client.post("/api/v1/rules", headers=editor, json={"playlist_id": playlist, "board_ids": [screen_id], **around_today()}).status_code == 201
    assert reconcile_now(app) == {screen_id: 1}
    return Board(screen_id, secret, assets, editor, approver)


def wait_until(check: Callable[[], Any], seconds: float, what: str, every: float = 0.2) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}")
        time.sleep(every)


def open_player(page: Any, cms: Server, board: Board, secret: str | None = None) -> None:
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{cms.url}/player/{board.id}")
    page.fill("#secret", secret or board.secret)
    page.click("#setup button[type=submit]")


def status(page: Any) -> dict[str, Any]:
    return page.evaluate(PLAYER_STATUS) or {}


def plays_in_db(app: Flask, screen_id: int) -> list[Any]:
    from sqlalchemy import select

    from cms.extensions import db
    from cms.models import PlaybackEvent

    with app.app_context():
        return list(db.session.execute(select(PlaybackEvent.event_id, PlaybackEvent.asset_id, PlaybackEvent.started_at,
                                              PlaybackEvent.ended_at).where(PlaybackEvent.screen_id == screen_id)
                                       .order_by(PlaybackEvent.started_at)))


def watch_console(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def test_the_player_plays_in_order_keeps_playing_offline_and_uploads_every_play_once(
        page: Any, app: Flask, cms: Server, board: Board) -> None:
    errors = watch_console(page)
    open_player(page, cms, board)
    wait_until(lambda: status(page).get("version") == 1, 15, "the first manifest")

    # The board's picture, exactly its size at the top left, on black, without scrollbars.
    box = page.evaluate("""() => {
      const r = document.getElementById('stage').getBoundingClientRect();
      const s = getComputedStyle(document.body);
      return {x: r.x, y: r.y, w: r.width, h: r.height, margin: s.margin, background: s.backgroundColor,
              scrollW: document.documentElement.scrollWidth, scrollH: document.documentElement.scrollHeight,
              innerW: innerWidth, innerH: innerHeight};
    }""")
    assert (box["x"], box["y"], box["w"], box["h"]) == (0, 0, WIDTH, HEIGHT)
    assert box["margin"] == "0px" and box["background"] == "rgb(0, 0, 0)"
    assert box["scrollW"] <= box["innerW"] and box["scrollH"] <= box["innerH"]

    # A few rounds online: plays are recorded and uploaded.
    wait_until(lambda: len(plays_in_db(app, board.id)) >= 4, 30, "four plays uploaded")

    # The CMS goes away: the items keep changing on screen and the plays wait in the browser.
    cms.stop()
    kept_before = len(status(page)["recorded"])
    seen_offline: list[int] = []

    def rotated() -> bool:
        # Never a black frame: exactly one slot in front, holding a decoded picture.
        front = page.evaluate("""() => [...document.querySelectorAll('.slot.front')].map(
            slot => slot.querySelector('img') ? slot.querySelector('img').naturalWidth : 0)""")
        assert front == [WIDTH], front
        shown = status(page).get("assetId")
        if shown is not None and (not seen_offline or seen_offline[-1] != shown):
            seen_offline.append(shown)
        return len(seen_offline) >= 5

    wait_until(rotated, 20, "the items to keep changing while the CMS is down", every=0.1)
    assert set(seen_offline) == set(board.assets)
    offline = status(page)
    assert len(offline["recorded"]) >= kept_before + 3 and offline["pending"] >= 3 and offline["online"] is False

    # Back on the same port: the kept plays arrive.
    cms.start()
    recorded = set(status(page)["recorded"])
    wait_until(lambda: recorded <= {row.event_id for row in plays_in_db(app, board.id)}, 45, "the kept plays to arrive")
    rows = plays_in_db(app, board.id)
    ids = [row.event_id for row in rows]
    assert len(ids) == len(set(ids)), "a play was stored twice"
    assert set(ids) <= set(status(page)["recorded"]), "the CMS holds a play the player never recorded"

    # In order and each as long as its item (every recorded play is a complete one).
    expected = dict(zip(board.assets, DURATIONS))
    order = board.assets
    for row in rows:
        length = (row.ended_at - row.started_at).total_seconds()
        assert abs(length - expected[row.asset_id]) <= 0.5, (row.asset_id, length)
    for before, after in zip(rows, rows[1:]):
        assert order.index(after.asset_id) == (order.index(before.asset_id) + 1) % 3, (before, after)
        assert abs((after.started_at - before.ended_at).total_seconds()) <= 0.5, "a gap between plays"
    assert len(rows) >= 7  # four before the outage, three or more during it
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_a_wrong_secret_is_refused_with_a_clear_message(page: Any, cms: Server, board: Board) -> None:
    errors = watch_console(page)
    open_player(page, cms, board, secret="pnb_not-this-boards-secret")
    message = page.locator("#setup-message")
    page.wait_for_function("() => document.getElementById('setup').dataset.outcome === 'wrong-secret'", timeout=10_000)
    assert f"does not belong to board {board.id}" in message.inner_text() or "không" in message.inner_text().lower()
    assert page.locator("#setup").is_visible()
    assert page.evaluate("() => document.querySelectorAll('.slot img, .slot video').length") == 0
    # Nothing was kept: a reload asks again.
    page.reload()
    page.locator("#setup").wait_for(state="visible", timeout=10_000)
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_the_javascript_board_key_and_signature_agree_with_python(page: Any, cms: Server) -> None:
    page.goto(f"{cms.url}/player/1")
    secret = "pnb_Thử-bí-mật-ñ-0123456789"
    key = page.evaluate("secret => PanoledPlayer.boardKey(secret)", secret)
    assert key == board_key(secret)
    body = '{"plays":[],"ghi chú":"Sống xanh"}'
    signature = page.evaluate("([key, body]) => PanoledPlayer.sign(key, 1718000000, new TextEncoder().encode(body))",
                              [key, body])
    assert signature == sign(key, 1718000000, body.encode("utf-8"))


def test_a_new_manifest_is_played_within_ten_seconds(page: Any, client: Any, app: Flask, cms: Server, board: Board) -> None:
    open_player(page, cms, board)
    wait_until(lambda: status(page).get("version") == 1, 15, "the first manifest")
    time.sleep(2)  # the player is waiting on its long poll
    fourth = approved_picture(client, app, board.editor, board.approver, seed=7)
    playlist = published(client, board.editor, "Khẩn", [(fourth, 5.0)])
    client.post("/api/v1/rules", headers=board.editor, json={"playlist_id": playlist, "board_ids": [board.id], "priority": 9,
                                                            **around_today()})
    assert reconcile_now(app) == {board.id: 2}
    changed = time.monotonic()
    wait_until(lambda: status(page).get("assetId") == fourth, 10, "the new manifest on screen")
    assert time.monotonic() - changed <= 10
    assert status(page)["version"] == 2


def test_a_screenshot_asked_for_comes_with_a_heartbeat(page: Any, app: Flask, cms: Server, board: Board) -> None:
    from cms.extensions import db
    from cms.models import BoardHealth, Screen
    from cms.services.audit import Actor
    from cms.services.board_health import request_screenshot

    open_player(page, cms, board)
    wait_until(lambda: status(page).get("assetId") is not None, 15, "a picture on screen")
    with app.app_context():
        request_screenshot(db.session.get(Screen, board.id), Actor.command_line(), datetime.now(UTC))
        db.session.commit()
    page.evaluate("() => window.panoledPlayer.heartbeatWake.signal()")

    def screenshot_at() -> Any:
        with app.app_context():
            health = db.session.get(BoardHealth, board.id)
            return health.screenshot_at if health is not None else None

    wait_until(screenshot_at, 15, "the screenshot")
    from PIL import Image

    from cms.services.board_health import screenshot_file

    with app.app_context():
        path, _at = screenshot_file(db.session.get(Screen, board.id), app.config["PANOLED"])
        with Image.open(path) as image:
            assert image.size == (WIDTH, HEIGHT)
            assert max(image.convert("RGB").getextrema()[0]) > 0  # not a black frame


def test_a_restart_without_the_cms_plays_from_what_the_browser_kept(page: Any, cms: Server, board: Board) -> None:
    open_player(page, cms, board)
    wait_until(lambda: status(page).get("version") == 1, 15, "the first manifest")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=10_000)
    cms.stop()
    page.reload()
    wait_until(lambda: status(page).get("version") == 1, 15, "the kept manifest after the restart")
    wait_until(lambda: status(page).get("assetId") in board.assets, 10, "a kept picture on screen")
    assert page.evaluate("() => document.querySelector('.slot.front img').naturalWidth") == WIDTH


def test_the_player_page_is_public_but_holds_no_schedule(client: Any, board: Board) -> None:
    page = client.get(f"/player/{board.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "VT-KIOSK" not in text and "anh-0" not in text and "/media/" not in text
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    worker = client.get("/player/sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert worker.headers["Service-Worker-Allowed"] == "/player/"
    assert client.get(f"/api/v1/screens/{board.id}/manifest").status_code == 401
