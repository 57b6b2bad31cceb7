"""Stored XSS: hostile text stored through the product stays text wherever the product shows it.

Every user-supplied string the product shows is stored through the product's own paths, carrying
markup, script and template code for each context it may land in (element text, attributes in
either quote, <title>, <textarea>, <script>, SVG, `javascript:` links, `{{7*7}}`); every script
calls alert() with the field's tag:
- the imported plan (a .txt upload in the browser): its file name, number, title, place, basis,
  issuing body, and the appendix row's campaign title, lead and partner units, forms, period;
- campaigns: description and status note (API), a campaign outside any plan;
- media: a poster whose file name is hostile (the media library's upload box in the browser), two
  more by the API, a text banner's title and text, alt text, a rejection reason;
- a playlist's name; boards' names, addresses and group; a rule's note;
- people: an admin's and an editor's names, an approver's e-mail address; an API token's name;
- website posts: title, summary, paragraphs, a rejection reason;
- what came from outside: a portal's link (`javascript:`) and error, a board's push error, the
  names a simulated controller shows on its wall.

Real Chromium then opens every page that shows them (staff pages, the import preview, the public
website with its feeds, widget and oEmbed card, the web player, the simulator's wall, and the
portal export opened from disk) with the Content-Security-Policy switched off (`bypass_csp`), so
escaping alone must hold: no dialog and no page error, none of the markup in the source as sent,
and the person sees their text literally (text, form fields, attributes, window titles). The CSP,
the second line of defence, is checked on its own: every HTML page forbids inline script, and
Chromium blocks a script and an event handler injected into served pages.

The hostile world is built once for the module (its own database, as the `app` fixture makes one).
"""
from __future__ import annotations

import html
import io
import json
import re
import time
import xml.etree.ElementTree as ElementTree
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import expect

import media_files
import plan_files
from cms import create_app
from cms.config import load_config
from cms.extensions import db
from conftest import REPO, STRONG_PASSWORD, _fresh_database
from display_adapters.simulator_server import SimulatorServer
from web_session import served, sign_in

pytestmark = pytest.mark.browser

TODAY = datetime.now(UTC).date()


# --------------------------------------------------------------------------------------------- payloads


def hostile(tag: str) -> str:
    """Text a person might type that is also markup, script and template code in every context:
    it closes <title>, <textarea> and <script>, breaks out of attributes in both quotes, and
    each of its three scripts calls alert() with `tag`."""
    return (f"{tag} </title></textarea></script>\"'><img src=x onerror=alert`{tag}`>"
            f"<svg onload=alert`{tag}`><script>alert`{tag}`</script>{{{{7*7}}}} ${{7*7}}")


H = hostile


def hostile_name(tag: str) -> str:
    """A file name (no slash: a name is its last path part) that is also markup."""
    return f"{tag} \"'><img src=x onerror=alert`{tag}`><svg onload=alert`{tag}`>{{{{7*7}}}}.png"


def hostile_short(tag: str) -> str:
    """For fields of 100 characters or fewer (a token's name)."""
    return f"{tag} \"'><img src=x onerror=alert`{tag}`>{{{{7*7}}}}"


def as_json(text: str) -> str:
    """`text` as a JSON string shows it (the audit log's details): quotes escaped, all else as written."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


# What the plan reader takes for a number (no space), a place (no digit, comma or parenthesis) and a basis.
PLAN_NUMBER = "81/KH-<svg/onload=alert`plan-number`>"
PLAN_PLACE = "Vũng Tàu '\"><img src=x onerror=alert`plan-place`>"
PLAN_BASIS = "Quyết định số 1596/<svg/onload=alert`plan-basis`> ngày 20/6/2024"
PLAN_FILE_NAME = "plan-file '><img src=x onerror=alert`plan-file`>.txt"  # a form upload sends " as %22
EMAIL = "'\"><svg/onload=alert`user-email`>@example.org"  # no space, one @: an address the product takes
PORTAL_SCRIPT_LINK = "javascript:alert`portal-url`"
PORTAL_PAGE = "https://portal.example.org/tin-tuc/bai-8"

# The payloads' markup, which may appear in what the server sends only escaped.
RAW_MARKUP = re.compile(r"<(?:img src=x onerror|svg onload|svg/onload|script>alert)"
                        r"|(?:href|src|action)=[\"']?\s*javascript:", re.IGNORECASE)


# --------------------------------------------------------------------------------------------- checks


@dataclass
class Inspector:
    """Watches one page for anything a payload did (a dialog, a page error) and checks what each
    answer holds: none of the payloads' markup in its source, and the stored texts shown as text."""

    page: Any
    problems: list[str] = field(default_factory=list)
    label: str = ""  # names the page in messages where its address does not (after set_content)

    def __post_init__(self) -> None:
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda error: self.problems.append(f"{self._where()}: page error: {error}"))

    def _where(self) -> str:
        return self.label or self.page.url

    def _dialog(self, dialog: Any) -> None:
        self.problems.append(f"{self._where()}: a payload ran: {dialog.type}({dialog.message!r})")
        dialog.dismiss()

    def open(self, url: str, shows: tuple[str, ...] = (), values: dict[str, str] | None = None,
             title: str = "") -> str:
        self.label = ""
        response = self.page.goto(url)
        assert response is not None and response.ok, (url, response.status if response else None)
        return self.check(response.url, response.text(), shows, values, title)

    def check(self, where: str, source: str, shows: tuple[str, ...] = (), values: dict[str, str] | None = None,
              title: str = "") -> str:
        """`source` is the page as the server sent it; the page itself has loaded. `values` maps a
        selector to the text its form field holds, or "selector@attribute" to an attribute's value."""
        self.page.wait_for_load_state("load")
        for match in RAW_MARKUP.finditer(source):
            around = source[max(0, match.start() - 80):match.end() + 20]
            self.problems.append(f"{where}: markup in the source: {around!r}")
        text = self.page.evaluate("() => document.body ? document.body.textContent : ''")
        self.problems += [f"{where}: does not show as text: {expected!r}" for expected in shows if expected not in text]
        for selector, expected in (values or {}).items():
            element, _at, attribute = selector.partition("@")
            found = self.page.locator(element).first
            actual = found.get_attribute(attribute) if attribute else found.input_value()
            if actual != expected:
                self.problems.append(f"{where}: {selector} holds {actual!r}, not {expected!r}")
        if title and title not in self.page.title():
            self.problems.append(f"{where}: the title {self.page.title()!r} lacks {title!r}")
        return source


# --------------------------------------------------------------------------------------------- the hostile world


@dataclass
class World:
    """Where the hostile text was stored, and what the build itself found (import preview, upload list)."""

    base: str
    simulator: str
    plan: int = 0
    campaign: int = 0
    loose_campaign: int = 0
    poster: int = 0
    banner: int = 0
    rejected: int = 0
    pending: int = 0
    playlist: int = 0
    board: int = 0
    board_secret: str = ""
    sim_board: int = 0
    rule: int = 0
    group_rule: int = 0
    post: int = 0
    rejected_post: int = 0
    loose_post: int = 0
    group: str = ""
    approver: int = 0
    build_problems: list[str] = field(default_factory=list)


def _plan_text(value: str) -> str:
    """A head line or cell as an HTML-derived export writes it: a tag, then the text with < > & as
    entities (the reader strips tags and decodes entities, so the stored text is `value`)."""
    return "<i></i>" + html.escape(value, quote=False)


def hostile_plan() -> bytes:
    """A plan file whose head and appendix row are hostile."""
    head = [
        _plan_text(f"Số: {PLAN_NUMBER}"),
        _plan_text(PLAN_PLACE) + ", ngày 05 tháng 8 năm 2024",
        "KẾ HOẠCH",
        _plan_text(H("plan-title") + " năm 2024"),
        _plan_text(f"Căn cứ {PLAN_BASIS} của UBND tỉnh;"),
        _plan_text(H("plan-body") + " xây dựng kế hoạch thực hiện như sau:"),
    ]
    row = ["1", _plan_text(H("campaign-title")), _plan_text(H("lead-unit")), _plan_text(H("partner-unit")),
           _plan_text("Bảng LED, trang thông tin điện tử " + H("form-text")), _plan_text(H("period-text"))]
    return plan_files.build_txt([row], head)


@pytest.fixture(scope="module")
def hostile_app(database_template: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app and database for the module: the hostile world is built once and read by every test.
    A portal is configured (never called here) so the post pages show what the portal answered."""
    folder = tmp_path_factory.mktemp("stored-xss")
    settings = load_config(REPO / "config.toml", overrides={
        "database": {"url": _fresh_database(database_template, folder)},
        "storage": {"data_dir": str(folder / "data")},
        "organisation": {"name": "Sở Tài nguyên và Môi trường", "province": "Tỉnh Thử nghiệm"},
        "publishing": {"kind": "wordpress", "url": "http://127.0.0.1:9/", "user": "panoled",
                       "application_password": "unused in these tests"}})
    app = create_app(settings, {"TESTING": True})
    yield app
    with app.app_context():
        db.engine.dispose()


def _account(app: Flask, role: str, email: str, display_name: str = "") -> int:
    from cms.services.accounts import NewAccount, create_user
    from cms.services.audit import Actor

    with app.app_context():
        user = create_user(NewAccount(email=email, role=role, password=STRONG_PASSWORD, display_name=display_name),
                           app.config["PANOLED"].security, Actor.command_line())
        db.session.commit()
        return user.id


def _token(app: Flask, user_id: int) -> dict[str, str]:
    from cms.models import User
    from cms.services.audit import Actor
    from cms.services.tokens import create_token

    with app.app_context():
        user = db.session.get(User, user_id)
        _row, plain = create_token(user, "tests", Actor.of(user))
        db.session.commit()
    return {"Authorization": f"Bearer {plain}"}


def _ok(answer: Any) -> dict[str, Any]:
    assert answer.status_code in (200, 201), (answer.status_code, answer.get_data(as_text=True)[:500])
    return answer.get_json() or {}


def _work(app: Flask) -> None:
    from cms.services.derivatives import work_until_idle

    with app.app_context():
        work_until_idle(app.config["PANOLED"])


def _import_plan_in_the_browser(inspector: Inspector, world: World) -> None:
    """The admin uploads the hostile plan under a hostile file name, reads the preview, imports it."""
    page = inspector.page
    page.goto(f"{world.base}/plans/import")
    page.set_input_files('input[type="file"][name="file"]', files=[{
        "name": PLAN_FILE_NAME, "mimeType": "text/plain", "buffer": hostile_plan()}])
    with page.expect_navigation() as navigation:
        page.locator('main form[enctype="multipart/form-data"] button[type="submit"]').click()
    preview = navigation.value
    inspector.check(preview.url, preview.text(), (PLAN_FILE_NAME, PLAN_NUMBER, H("plan-title"), H("plan-body"),
                                                 H("campaign-title"), H("period-text")))
    with page.expect_navigation() as navigation:
        page.locator('form[action$="/plans/import/confirm"] button[type="submit"]').click()
    landing = navigation.value  # the campaign list, with a message naming the plan imported
    inspector.check(landing.url, landing.text(), (PLAN_NUMBER, H("campaign-title")))


def _upload_in_the_browser(inspector: Inspector, world: World, name: str, data: bytes) -> None:
    """Through the media library's upload box (its script sends the name in a header and lists it)."""
    page = inspector.page
    page.goto(f"{world.base}/campaigns/{world.campaign}/media")
    page.set_input_files('.uploader input[type="file"]',
                         files=[{"name": name, "mimeType": "image/png", "buffer": data}])
    expect(page.locator(".upload-list .upload-row.done")).to_have_count(1)
    expect(page.locator(".upload-list .upload-row .name")).to_have_text(name)


def _plays(app: Flask, screen_id: int) -> int:
    from sqlalchemy import func, select

    from cms.models import PlaybackEvent

    with app.app_context():
        query = select(func.count()).select_from(PlaybackEvent).where(PlaybackEvent.screen_id == screen_id)
        return db.session.scalar(query) or 0


def _wait_for(what: str, check: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds} s")
        time.sleep(0.1)


@dataclass
class Hands:
    """The people storing the hostile text: the admin in the browser, the others through the API."""

    app: Flask
    client: FlaskClient
    inspector: Inspector
    editor: int
    approver: int
    edit: dict[str, str]
    approve: dict[str, str]
    operate: dict[str, str]


def _people(app: Flask, page: Any, base: str, world: World) -> Hands:
    """An admin and an editor with hostile names, an approver with a hostile address; the admin signs in."""
    _account(app, "admin", "admin@example.org", display_name=H("admin-name"))
    editor = _account(app, "editor", "editor@example.org", display_name=H("editor-name"))
    world.approver = _account(app, "approver", EMAIL)
    operator = _account(app, "operator", "operator@example.org")
    sign_in(page, base)
    return Hands(app, app.test_client(), Inspector(page), editor, world.approver, _token(app, editor),
                 _token(app, world.approver), _token(app, operator))


def _store_plan_and_campaigns(hands: Hands, world: World) -> None:
    from sqlalchemy import select

    from cms.models import Campaign, Plan

    _import_plan_in_the_browser(hands.inspector, world)
    with hands.app.app_context():
        world.plan = db.session.scalar(select(Plan.id))
        world.campaign = db.session.scalar(select(Campaign.id).where(Campaign.plan_id == world.plan))
    client = hands.client
    _ok(client.patch(f"/api/v1/campaigns/{world.campaign}", headers=hands.edit, json={
        "description": H("description") + "\n\n" + H("description-2"),
        "period_start": (TODAY - timedelta(days=30)).isoformat(),
        "period_end": (TODAY + timedelta(days=30)).isoformat()}))
    _ok(client.post(f"/api/v1/campaigns/{world.campaign}/transitions", headers=hands.approve,
                    json={"to": "approved", "note": H("status-note")}))
    world.loose_campaign = _ok(client.post("/api/v1/campaigns", headers=hands.edit, json={
        "title": H("loose-campaign"), "lead_unit": "Phòng Môi trường", "period_text": "Năm 2024"}))["id"]


def _upload(hands: Hands, world: World, name: str, colour: tuple[int, int, int]) -> int:
    return _ok(hands.client.post(f"/api/v1/media?campaign_id={world.campaign}&filename={quote(name)}",
                                 data=media_files.png_bytes(colour=colour),
                                 headers=hands.edit | {"Content-Type": "application/octet-stream"}))["id"]


def _store_media(hands: Hands, world: World) -> None:
    """A poster named by its uploader in the browser, a banner, one rejected, one waiting."""
    from sqlalchemy import select

    from cms.models import MediaAsset

    client = hands.client
    _upload_in_the_browser(hands.inspector, world, hostile_name("file-name"),
                           media_files.png_bytes(colour=(30, 140, 70)))
    with hands.app.app_context():
        world.poster = db.session.scalar(select(MediaAsset.id).where(MediaAsset.campaign_id == world.campaign))
    world.banner = _ok(client.post("/api/v1/media/banners", headers=hands.edit, json={
        "campaign_id": world.campaign, "title": H("banner-title"), "body": H("banner-body")}))["id"]
    world.rejected = _upload(hands, world, hostile_name("rejected-file"), (160, 40, 40))
    world.pending = _upload(hands, world, hostile_name("pending-file"), (40, 40, 160))
    _work(hands.app)
    for asset in (world.poster, world.banner, world.rejected, world.pending):
        _ok(client.post(f"/api/v1/media/{asset}/transitions", headers=hands.edit, json={"to": "pending"}))
    for asset in (world.poster, world.banner):
        _ok(client.post(f"/api/v1/media/{asset}/transitions", headers=hands.approve, json={"to": "approved"}))
    _ok(client.post(f"/api/v1/media/{world.rejected}/transitions", headers=hands.approve,
                    json={"to": "rejected", "reason": H("reject-reason")}))
    _ok(client.patch(f"/api/v1/media/{world.poster}", headers=hands.edit, json={"alt_text": H("alt-text")}))


def _store_playlist_boards_and_rules(hands: Hands, world: World, simulator: SimulatorServer) -> None:
    """A published playlist on a web player board and, by its group, on a simulated controller."""
    client = hands.client
    world.playlist = _ok(client.post("/api/v1/playlists", headers=hands.edit,
                                     json={"campaign_id": world.campaign, "name": H("playlist-name")}))["id"]
    for asset in (world.poster, world.banner):
        _ok(client.post(f"/api/v1/playlists/{world.playlist}/items", headers=hands.edit,
                        json={"asset_id": asset, "duration": 3}))
    _ok(client.post(f"/api/v1/playlists/{world.playlist}/publish", headers=hands.edit))
    world.group = H("board-group")
    board = _ok(client.post("/api/v1/screens", headers=hands.operate, json={
        "name": H("board-name"), "code": "XSS-1", "width": 960, "height": 320, "adapter": "webplayer",
        "group": world.group, "address": H("board-address"), "operating_hours": "00:00-24:00"}))
    world.board, world.board_secret = board["id"], board["secret"]
    world.sim_board = _ok(client.post("/api/v1/screens", headers=hands.operate, json={
        "name": H("sim-board"), "code": "XSS-SIM", "width": 960, "height": 320, "adapter": "simulator",
        "adapter_options": {"url": simulator.url}, "group": world.group, "operating_hours": "00:00-24:00"}))["id"]
    around = {"date_from": (TODAY - timedelta(days=1)).isoformat(), "date_to": (TODAY + timedelta(days=1)).isoformat()}
    # Together they ask for more than an hour holds: the group's rule is starved (a conflict).
    world.rule = _ok(client.post("/api/v1/rules", headers=hands.edit, json={
        "playlist_id": world.playlist, "board_ids": [world.board], "priority": 5, "share_of_voice": 0.9,
        "note": H("rule-note"), **around}))["id"]
    world.group_rule = _ok(client.post("/api/v1/rules", headers=hands.edit, json={
        "playlist_id": world.playlist, "groups": [world.group], "priority": 1, "plays_per_hour": 360, **around}))["id"]


def _play(hands: Hands, world: World, simulator: SimulatorServer) -> None:
    """The scheduler pushes the manifests; the simulated controller plays and reports its plays."""
    from cms.models import PushAttempt, Screen
    from cms.services.audit import Actor
    from cms.services.simulators import connect_boards
    from scheduler.service import SchedulerService

    app = hands.app
    with app.app_context():
        identities = connect_boards([db.session.get(Screen, world.sim_board)], simulator.url, Actor.command_line())
    controller = simulator.add_board(identities[0])
    SchedulerService(app, name="stored-xss").run_once()
    _wait_for("the simulated board to report a play", lambda: _plays(app, world.sim_board) > 0)
    assert controller.playing_version == 1
    with app.app_context():
        # What a board answers is text from outside too (here as the push recorded it).
        db.session.add(PushAttempt(screen_id=world.board, version=1, result="retry", error=H("push-error")))
        db.session.commit()


def _published(post: Any, writer: Any, reviewer: Any, now: datetime) -> None:
    from cms.services import website

    website.move(post, "pending", writer, now)
    website.move(post, "approved", reviewer, now)
    website.move(post, "published", writer, now)


def _store_posts(hands: Hands, world: World) -> None:
    """Posts published, rejected, and on the campaign outside the plan; what the portal answered."""
    from cms.models import MediaAsset, PortalPost, User
    from cms.services import website
    from cms.services.audit import Actor

    with hands.app.app_context():
        writer, reviewer = Actor.of(db.session.get(User, hands.editor)), Actor.of(db.session.get(User, hands.approver))
        now = datetime.now(UTC)
        website.set_web_public(db.session.get(MediaAsset, world.poster), True, writer)
        post = website.save_post(None, world.campaign, H("post-title"), H("post-summary"),
                                 H("post-body") + "\n\n" + H("post-body-2"), [world.poster], writer)
        _published(post, writer, reviewer, now)
        refused = website.save_post(None, world.campaign, "Bài bị từ chối", "", "Nội dung.", [], writer)
        website.move(refused, "pending", writer, now)
        website.move(refused, "rejected", reviewer, now, reason=H("post-reject"))
        loose = website.save_post(None, world.loose_campaign, H("loose-post"), "", "Nội dung.", [], writer)
        _published(loose, writer, reviewer, now)
        db.session.flush()
        world.post, world.rejected_post, world.loose_post = post.id, refused.id, loose.id
        db.session.add(PortalPost(portal="wordpress", post_id=post.id, remote_id="7", remote_url=PORTAL_SCRIPT_LINK,
                                  state="published", error=H("portal-error"), synced_at=now))
        db.session.add(PortalPost(portal="wordpress", post_id=loose.id, remote_id="8", remote_url=PORTAL_PAGE,
                                  state="published", synced_at=now))
        db.session.commit()


def _name_a_token(hands: Hands, world: World) -> None:
    """The admin names an API token on the account page."""
    page = hands.inspector.page
    page.goto(f"{world.base}/account/")
    page.fill("#name", hostile_short("token-name"))
    with page.expect_navigation():
        page.locator('form[action$="/account/tokens"] button[type="submit"]').click()


def _build(app: Flask, page: Any, base: str, simulator: SimulatorServer) -> World:
    world = World(base=base, simulator=simulator.url)
    hands = _people(app, page, base, world)
    _store_plan_and_campaigns(hands, world)
    _store_media(hands, world)
    _store_playlist_boards_and_rules(hands, world, simulator)
    _play(hands, world, simulator)
    _store_posts(hands, world)
    _name_a_token(hands, world)
    world.build_problems = hands.inspector.problems
    return world


@pytest.fixture(scope="module")
def world(hostile_app: Flask, browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The hostile world, served over HTTP with a simulator of controllers, for the module's tests."""
    with served(hostile_app) as base:
        simulator = SimulatorServer(cms_url=base, state_dir=tmp_path_factory.mktemp("simulator"), upload_seconds=0.3,
                                    retry_base_seconds=0.2, retry_max_seconds=1.0, heartbeat_seconds=5.0).start()
        context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
        context.set_default_timeout(20_000)
        try:
            try:
                built = _build(hostile_app, context.new_page(), base, simulator)
            finally:
                context.close()
            yield built
        finally:
            simulator.stop()


# --------------------------------------------------------------------------------------------- pages


class Visit(NamedTuple):
    """A page to open and what it must show: texts in full, form fields' values or attributes
    ("selector@attribute"), and a text in the window's title."""

    path: str
    shows: tuple[str, ...] = ()
    values: dict[str, str] | None = None
    title: str = ""


def staff_pages(world: World) -> list[Visit]:
    """Every staff page that shows the hostile strings (the signed-in admin's name is on each)."""
    around = f"from={(TODAY - timedelta(days=1)).isoformat()}&to={(TODAY + timedelta(days=1)).isoformat()}"
    campaign, group = world.campaign, quote(world.group, safe="")
    file_name, banner, rejected, pending = (hostile_name("file-name"), H("banner-title"), hostile_name("rejected-file"),
                                            hostile_name("pending-file"))
    return [
        Visit("/", (H("campaign-title"), H("lead-unit"), H("partner-unit"), H("period-text"), H("loose-campaign"),
                    PLAN_NUMBER)),
        Visit(f"/campaigns/timeline?year={TODAY.year}", (H("lead-unit"), H("period-text"))),
        Visit(f"/campaigns/{campaign}", (H("campaign-title"), H("lead-unit"), H("partner-unit"), H("period-text"),
                                         H("form-text"), H("description"), H("description-2"), H("status-note"))),
        Visit(f"/campaigns/{campaign}/edit", (H("description"),),
              {"#title": H("campaign-title"), "#lead_unit": H("lead-unit"), "#period_text": H("period-text")}),
        Visit(f"/campaigns/{campaign}/media", (file_name, banner, rejected, pending)),
        Visit(f"/media/{world.poster}", (file_name, EMAIL), {".original@alt": H("alt-text")}, title=file_name),
        Visit(f"/media/{world.banner}", (banner, H("banner-body")), title=banner),
        Visit(f"/media/{world.rejected}", (rejected, H("reject-reason"), EMAIL), title=rejected),
        Visit("/media/review", (pending,)),
        Visit(f"/campaigns/{campaign}/playlists", (H("playlist-name"),)),
        Visit(f"/playlists/{world.playlist}", (H("playlist-name"), file_name, banner), title=H("playlist-name")),
        Visit("/schedule/", (H("playlist-name"), H("rule-note"), world.group)),
        Visit(f"/schedule/{world.group_rule}/delete", (H("playlist-name"), world.group)),
        Visit("/schedule/new", (world.group, H("playlist-name"), f"XSS-1 · {H('board-name')}"),
              {"#playlist_id optgroup@label": f"1. {H('campaign-title')}"[:90]}),
        Visit(f"/schedule/boards/{world.board}/week", (H("board-name"), world.group, H("playlist-name")),
              title=H("board-name")),
        Visit(f"/schedule/groups/{group}/week", (H("board-name"), world.group)),
        Visit(f"/schedule/conflicts?{around}", (H("board-name"), world.group, H("playlist-name"))),
        Visit("/screens/", (H("board-name"), world.group)),
        Visit(f"/screens/{world.board}", (H("board-name"), H("board-address"), world.group, H("push-error"),
                                          H("playlist-name")), title=H("board-name")),
        Visit("/screens/on-air", (H("board-name"), world.group, H("push-error"))),
        Visit("/screens/alerts"),
        Visit(f"/reports/acceptance?scope=campaign:{campaign}&{around}",
              (H("campaign-title"), H("lead-unit"), H("period-text"), H("sim-board"), world.group)),
        Visit("/admin/audit", (as_json(H("playlist-name")), as_json(H("reject-reason")), EMAIL)),
        Visit("/admin/users", (H("editor-name"), EMAIL)),
        Visit(f"/admin/users/{world.approver}", (EMAIL,), title=EMAIL),
        Visit("/account/", (hostile_short("token-name"),)),
        Visit("/plans/", (PLAN_NUMBER,)),
        Visit(f"/plans/{world.plan}", (PLAN_NUMBER, H("plan-title"), H("plan-body"), PLAN_PLACE, PLAN_BASIS,
                                       PLAN_FILE_NAME)),
        Visit(f"/campaigns/{campaign}/website", (H("post-title"), file_name, H("alt-text"))),
        Visit(f"/website/posts/{world.post}", (H("post-title"), H("post-summary"), H("post-body"), H("post-body-2"),
                                               H("portal-error"), file_name),
              {"#edit-post #title": H("post-title"), "#edit-post #summary": H("post-summary")}, H("post-title")),
        Visit(f"/website/posts/{world.rejected_post}", (H("post-reject"),)),
        Visit(f"/website/posts/{world.loose_post}", (H("loose-post"),)),
    ]


def test_hostile_text_stays_text_on_every_staff_page(world: World, browser: Any, screenshots: Path) -> None:
    """Signed in as the admin whose own name is hostile; a screenshot of the campaign goes to test-artifacts."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    context.set_default_timeout(20_000)
    try:
        inspector = Inspector(context.new_page())
        sign_in(inspector.page, world.base)
        for path, shows, values, title in staff_pages(world):
            inspector.open(world.base + path, (H("admin-name"), *shows), values, title)
            if path == f"/campaigns/{world.campaign}":
                inspector.page.screenshot(path=str(screenshots / "stored-xss-campaign.png"), full_page=True)
            if path == f"/website/posts/{world.loose_post}":  # a portal's web address is still a link
                expect(inspector.page.locator(f'#portal-state a[href="{PORTAL_PAGE}"]')).to_have_count(1)
    finally:
        context.close()
    assert not inspector.problems, "\n".join(inspector.problems)


def test_the_import_preview_and_the_upload_list_show_hostile_text_as_text(world: World) -> None:
    """Checked while the world was built: the preview of the hostile plan, the message after its import,
    and the upload box's list of files."""
    assert not world.build_problems, "\n".join(world.build_problems)


def public_pages(world: World) -> list[Visit]:
    """The website's pages a visitor opens."""
    post_shows = (H("post-title"), H("post-summary"), H("post-body"), H("post-body-2"), H("alt-text"),
                  H("campaign-title"))
    return [
        Visit("/public/", (H("plan-title"), PLAN_NUMBER, H("loose-campaign"), H("post-title"), H("loose-post"))),
        Visit(f"/public/plans/{world.plan}", (H("plan-title"), PLAN_NUMBER, H("plan-body"), H("campaign-title"),
                                              H("lead-unit"), H("period-text"), H("post-title")),
              {'meta[property="og:title"]@content': H("plan-title") + " năm 2024"}, H("plan-title")),
        Visit(f"/public/campaigns/{world.campaign}", (H("campaign-title"), H("lead-unit"), H("period-text"),
                                                      H("description"), H("description-2"), H("alt-text"),
                                                      H("post-title"), H("post-summary")),
              {'meta[property="og:title"]@content': H("campaign-title"), ".gallery img@alt": H("alt-text"),
               'meta[property="og:image:alt"]@content': H("alt-text")}, H("campaign-title")),
        Visit(f"/public/posts/{world.post}", post_shows,
              {'meta[property="og:title"]@content': H("post-title"),
               'meta[name="description"]@content': H("post-summary"), "article img@alt": H("alt-text")},
              H("post-title")),
        Visit(f"/public/campaigns/{world.loose_campaign}", (H("loose-campaign"), H("loose-post")),
              title=H("loose-campaign")),
        Visit(f"/public/posts/{world.loose_post}", (H("loose-post"), H("loose-campaign")), title=H("loose-post")),
        Visit(f"/public/widget/campaigns/{world.campaign}", (H("campaign-title"), H("post-title"), H("alt-text")),
              {"img@alt": H("alt-text")}, H("campaign-title")),
    ]


def _entries_html(feed: bytes) -> list[tuple[str, str]]:
    """(title, content HTML) of each entry of an Atom feed, as a feed reader reads them."""
    atom = "{http://www.w3.org/2005/Atom}"
    root = ElementTree.fromstring(feed)
    return [(entry.findtext(f"{atom}title") or "", entry.findtext(f"{atom}content") or "")
            for entry in root.iter(f"{atom}entry")]


def _check_entry_html(where: str, content: str, shows: tuple[str, ...], problems: list[str]) -> None:
    """Entry HTML (a feed's content) goes into a reader's page as HTML: it must hold the texts escaped."""
    problems += [f"{where}: markup in the entry HTML: {m.group(0)!r}" for m in RAW_MARKUP.finditer(content)]
    problems += [f"{where}: the entry lacks {text!r}" for text in shows if text not in html.unescape(content)]


def test_hostile_text_stays_text_on_the_public_website_its_feeds_widget_and_oembed(
        world: World, browser: Any, screenshots: Path) -> None:
    """A visitor (no cookie) reads the website, its feeds, and the oEmbed card placed on a portal's page."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    context.set_default_timeout(20_000)
    try:
        inspector = Inspector(context.new_page())
        page = inspector.page
        for path, shows, values, title in public_pages(world):
            inspector.open(world.base + path, shows, values, title)
            if path == f"/public/posts/{world.post}":
                page.screenshot(path=str(screenshots / "stored-xss-public-post.png"), full_page=True)

        # Feeds: opened in the browser, and read as a feed reader reads them.
        entry_shows = (H("post-summary"), H("post-body"), H("post-body-2"), H("alt-text"))
        for path in (f"/public/campaigns/{world.campaign}/feed.atom", f"/public/plans/{world.plan}/feed.atom"):
            source = inspector.open(world.base + path)
            for title, content in _entries_html(source.encode("utf-8")):
                if title == H("post-title"):
                    _check_entry_html(path, content, entry_shows, inspector.problems)
            assert H("post-title") in [title for title, _content in _entries_html(source.encode("utf-8"))], path
        feed = page.request.get(f"{world.base}/public/campaigns/{world.campaign}/feed.json").json()
        assert feed["title"] == H("campaign-title") and feed["items"][0]["title"] == H("post-title")
        _check_entry_html("feed.json", feed["items"][0]["content_html"], entry_shows, inspector.problems)

        # oEmbed: the card's HTML placed in a page of another site, as a portal's editor does.
        card = page.request.get(f"{world.base}/public/oembed", params={
            "url": f"{world.base}/public/campaigns/{world.campaign}", "format": "json"}).json()
        assert card["title"] == H("campaign-title")
        _check_entry_html("oembed", card["html"], (), inspector.problems)
        inspector.label = "the oEmbed card on a portal's page"
        page.set_content(f"<!doctype html><html><body><h1>Cổng thông tin</h1>{card['html']}</body></html>")
        frame = page.frame_locator("iframe")
        expect(frame.locator("h1")).to_have_text(H("campaign-title"))
        inspector.check(inspector.label, card["html"], values={"iframe@title": H("campaign-title")})
        link = page.request.get(f"{world.base}/public/oembed", params={
            "url": f"{world.base}/public/posts/{world.post}", "format": "json"}).json()
        assert link["title"] == H("post-title")
    finally:
        context.close()
    assert not inspector.problems, "\n".join(inspector.problems)


def test_the_portal_export_opened_from_disk_shows_hostile_text_as_text(world: World, browser: Any,
                                                                      tmp_path: Path) -> None:
    """A webmaster opens the exported pages from disk: no CSP there, only escaping."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    try:
        inspector = Inspector(context.new_page())
        sign_in(inspector.page, world.base)
        post_shows = (H("post-title"), H("post-summary"), H("post-body"), H("post-body-2"), H("alt-text"),
                      H("campaign-title"))
        bundles = {
            f"/campaigns/{world.campaign}/website/export.zip": {
                "index.html": (H("campaign-title"), H("period-text"), H("post-title"), H("post-summary")),
                f"campaign-{world.campaign}.html": (H("campaign-title"), H("lead-unit"), H("period-text"),
                                                    H("description"), H("alt-text"), H("post-title"),
                                                    H("post-summary")),
                f"post-{world.post}.html": post_shows},
            f"/plans/{world.plan}/website/export.zip": {
                "index.html": (H("plan-title"), H("campaign-title"), H("post-title")),
                f"post-{world.post}.html": post_shows},
        }
        for number, (path, pages) in enumerate(bundles.items()):
            answer = inspector.page.request.get(world.base + path)
            assert answer.ok and answer.headers["content-type"] == "application/zip", (path, answer.status)
            folder = tmp_path / f"bundle-{number}"
            with zipfile.ZipFile(io.BytesIO(answer.body())) as archive:
                archive.extractall(folder)
            for name, shows in pages.items():
                file = folder / name
                inspector.page.goto(file.as_uri())
                inspector.check(file.as_uri(), file.read_text(encoding="utf-8"), shows)
    finally:
        context.close()
    assert not inspector.problems, "\n".join(inspector.problems)


def test_the_web_player_plays_media_with_hostile_names_without_running_them(world: World, browser: Any) -> None:
    """The board's manifest names the media; the player shows their pictures, never their names as markup."""
    context = browser.new_context(viewport={"width": 1280, "height": 720}, bypass_csp=True)
    context.set_default_timeout(20_000)
    try:
        inspector = Inspector(context.new_page())
        page = inspector.page
        page.goto(f"{world.base}/player/{world.board}")
        page.fill("#secret", world.board_secret)
        page.click("#setup button[type=submit]")
        page.wait_for_function("() => window.panoledPlayer && window.panoledPlayer.status().assetId !== null")
        page.wait_for_function("() => document.querySelector('.slot.front img, .slot.front video') !== null")
        manifest = page.request.get(f"{world.base}/api/v1/screens/{world.board}/manifest",
                                    headers={"Authorization": f"Bearer {world.board_secret}"}).json()
        assert {hostile_name("file-name"), H("banner-title")} <= {m["name"] for m in manifest["media"]}
    finally:
        context.close()
    assert not inspector.problems, "\n".join(inspector.problems)


# JavaScript an attacker would get into a page: an inline script and an inline event handler.
INJECT = """() => {
  window.__ran = [];
  window.__blocked = [];
  document.addEventListener("securitypolicyviolation", (event) => window.__blocked.push(event.effectiveDirective));
  const script = document.createElement("script");
  script.textContent = "window.__ran.push('inline script')";
  document.body.append(script);
  const holder = document.createElement("div");
  holder.innerHTML = "<img src='/no-such-picture' onerror=\\"window.__ran.push('inline handler')\\">";
  document.body.append(holder);
}"""


def _script_sources(policy: str) -> list[str]:
    """The sources a Content-Security-Policy lets scripts come from (script-src, else default-src)."""
    directives = {parts[0].lower(): parts[1:] for parts in (d.split() for d in policy.split(";")) if parts}
    return directives.get("script-src", directives.get("default-src", ["*"]))


def test_every_page_forbids_inline_script_and_chromium_blocks_an_injected_one(world: World, browser: Any) -> None:
    """The second line of defence: were a page to carry a payload after all, the browser would not run it."""
    problems: list[str] = []
    pages = [world.base + visit.path for visit in [*staff_pages(world), *public_pages(world)]] + [
        f"{world.base}/player/{world.board}", f"{world.base}/login", f"{world.base}/campaigns/{world.campaign + 1000}",
        f"{world.base}/public/posts/999999", f"{world.simulator}/"]
    with_csp = browser.new_context(viewport={"width": 1280, "height": 900})
    without_csp = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    try:
        page = with_csp.new_page()
        sign_in(page, world.base)
        for path in pages:
            answer = page.request.get(path)
            assert answer.headers.get("content-type", "").startswith("text/html"), (path, answer.headers)
            policy = answer.headers.get("content-security-policy", "")
            sources = _script_sources(policy)
            if not policy or {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"} & set(sources):
                problems.append(f"{path}: Content-Security-Policy {policy!r} lets inline script run")
            for directive in ("script-src-elem", "script-src-attr"):
                if directive in policy:
                    problems.append(f"{path}: {directive} may widen script-src: {policy!r}")

        control = without_csp.new_page()
        for path in (f"/campaigns/{world.campaign}", f"/public/campaigns/{world.campaign}",
                     f"/public/widget/campaigns/{world.campaign}", f"/player/{world.board}"):
            control.goto(world.base + path)
            control.evaluate(INJECT)
            control.wait_for_function("() => window.__ran.length === 2")  # the injection runs where no CSP stops it
            page.goto(world.base + path)
            page.evaluate(INJECT)
            page.wait_for_function("() => window.__blocked.length === 2 || window.__ran.length > 0")
            ran, blocked = page.evaluate("() => [window.__ran, window.__blocked]")
            if ran or sorted(blocked) != ["script-src-attr", "script-src-elem"]:
                problems.append(f"{path}: with the CSP, the injected script ran {ran} (blocked: {blocked})")
    finally:
        with_csp.close()
        without_csp.close()
    assert not problems, "\n".join(problems)


def test_the_simulators_wall_names_what_each_board_plays_as_text(world: World, browser: Any) -> None:
    """The wall refreshes itself and the board is dark part of each hour: it is read until it names
    one of the hostile media (a bounded number of times)."""
    names = (hostile_name("file-name"), H("banner-title"))
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    try:
        inspector = Inspector(context.new_page())
        for _attempt in range(30):
            inspector.open(f"{world.simulator}/")
            named = any(name in inspector.page.evaluate("() => document.body.textContent") for name in names)
            if named or inspector.problems:
                break
            time.sleep(0.5)
    finally:
        context.close()
    assert not inspector.problems, "\n".join(inspector.problems)
    assert named, "the wall never named what the board played"
