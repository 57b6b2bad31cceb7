"""The audit log has who, when and what for every state change people make.

A department's day is driven through the real HTTP routes (pages with their CSRF
token, the API with tokens, the boards with their secrets) while every row the
database writes is watched: SQLAlchemy's mapper events give each changed row, the
engine's statement events catch writes made without the ORM, and commits and rollbacks
say which of them stayed. For every committed transaction of a person's request that
changed a row of the domain, the same transaction must hold an audit event naming that
person (user id and label), a time inside the request, the action, and the object: the
changed row's own type and id, or the object it belongs to (an item's playlist, a
partner's campaign). Reading a page changes nothing of the domain; a board's requests
write only its own reports. Every route that takes POST, PUT, PATCH or DELETE must have
been used and have changed something in this day, except the few listed with a reason.
"""
from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, g, request, request_finished, request_started, request_tearing_down
from flask.testing import FlaskClient
from flask_login import current_user
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Mapper

import media_files
from board_calls import bearer, make_manifest, post_signed
from conftest import PLAN_FILE, STRONG_PASSWORD, Accounts, csrf_token
from cms.access import BOARD, access_of
from cms.extensions import db
from cms.models import ApiToken, Campaign, User
from cms.services.derivatives import work_until_idle

# Tables whose rows are not state changes made by people, and why.
NOT_PEOPLES_CHANGES: dict[str, str] = {
    "login_attempts": "throttling bookkeeping of every sign-in attempt; a successful sign-in is audited as user.login",
    "media_derivatives": "the renditions the workers owe and their progress; the upload, fit, replacement or new "
                         "board that asked for them is audited on the medium or the board",
    "manifests": "the scheduler's output for a board, derived from audited rules, playlists and media",
    "board_sync": "which manifest version a board has: delivery bookkeeping of the scheduler and the boards",
    "push_attempts": "the scheduler's delivery attempts to a board",
    "playback_events": "what a board reports it played, signed by the board and kept in its own hash chain",
    "playlog_batches": "a board's signed batches of plays",
    "playlog_chains": "the head of a board's hash chain of plays",
    "playlog_chain_days": "the daily checkpoints of a board's hash chain",
    "playlog_checks": "the result of re-verifying the chains, written by whoever reads a report or by the scheduler",
    "playlog_archives": "old plays moved to compressed files by the system",
    "archived_plays": "which plays are in which archive",
    "play_daily": "totals counted from the boards' plays",
    "play_hourly": "totals counted from the boards' plays",
    "planned_daily": "the plan record the scheduler keeps of what it sent",
    "planned_hourly": "the plan record the scheduler keeps of what it sent",
    "plan_hours": "the plan record the scheduler keeps of what it sent",
    "portal_posts": "the portal publisher's delivery bookkeeping; publishing the post is audited",
    "portal_media": "the portal publisher's delivery bookkeeping; publishing the post is audited",
}
# What only the boards write, through their own routes with their own secrets.
BOARD_REPORTS = {"board_health", "board_sync", "playback_events", "playlog_batches", "playlog_chains",
                 "playlog_chain_days", "play_daily", "play_hourly"}
# Columns whose change alone is no state change: an API token's stamp of use is written by every API call.
STAMPS = {("api_tokens", frozenset({"last_used_at"}))}

# The object a changed row belongs to, as its audit event names it: (object type, id).
OWNER_OF: dict[str, Callable[[dict[str, Any]], tuple[str, Any]]] = {
    "users": lambda row: ("user", row["id"]),
    "api_tokens": lambda row: ("api_token", row["id"]),
    "plans": lambda row: ("plan", row["id"]),
    "campaigns": lambda row: ("campaign", row["id"]),
    "campaign_partners": lambda row: ("campaign", row["campaign_id"]),
    "org_units": lambda row: ("campaign", None),  # a unit is named by the campaign that brought it
    "media_assets": lambda row: ("media", row["id"]),
    "playlists": lambda row: ("playlist", row["id"]),
    "playlist_items": lambda row: ("playlist", row["playlist_id"]),
    "schedule_rules": lambda row: ("rule", row["id"]),
    "screens": lambda row: ("screen", row["id"]),
    "board_health": lambda row: ("screen", row.get("screen_id")),  # a person asking for a screenshot
    "web_posts": lambda row: ("web_post", row["id"]),
    "web_post_media": lambda row: ("web_post", row["post_id"]),
}
# A medium gets its public name when a post showing it is published: that post's event covers it.
ALSO_COVERED_BY = {("media_assets", frozenset({"web_token"})): "web_post"}

# State-changing routes that store nothing in the database, and why.
NOTHING_STORED: dict[tuple[str, str], str] = {
    ("POST", "/language"): "the language is kept in the session cookie",
    ("POST", "/logout"): "signing out empties the session cookie; sessions are not stored",
    ("POST", "/plans/import"): "the preview runs the import and rolls it back; the file waits in the data folder",
    ("POST", "/plans/import/cancel"): "deletes the waiting file of a preview",
}

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
DML = re.compile(r"^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)\"?", re.IGNORECASE)
SECRET = re.compile(r'<code class="secret"[^>]*>([^<]+)</code>')


# ---------------------------------------------------------------------------
# Watching the database during each request


@dataclass
class Transaction:
    rows: list[tuple[str, str, dict[str, Any], frozenset[str]]] = field(default_factory=list)  # table, op, row, columns
    statements: set[tuple[str, str]] = field(default_factory=set)  # (op, table)
    audits: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Call:
    method: str
    path: str
    started: datetime
    rule: str | None = None
    status: int = 0
    ended: datetime | None = None
    user_id: int | None = None
    label: str | None = None
    board: bool = False
    committed: list[Transaction] = field(default_factory=list)


class Recorder:
    """Each request of the app, with the transactions it committed."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.calls: list[Call] = []
        self.current: Call | None = None
        self.open: dict[Any, tuple[Call, Transaction]] = {}  # connection -> its transaction's writes

    @contextmanager
    def watching(self) -> Iterator[Recorder]:
        with self.app.app_context():
            engine = db.engine
        hooks = [(Mapper, "after_insert", self._inserted), (Mapper, "after_update", self._updated),
                 (Mapper, "after_delete", self._deleted), (engine, "after_cursor_execute", self._statement),
                 (engine, "commit", self._commit), (engine, "rollback", self._rollback)]
        signals = [(request_started, self._started), (request_finished, self._finished),
                   (request_tearing_down, self._torn_down)]
        for target, name, hook in hooks:
            event.listen(target, name, hook)
        for signal, receiver in signals:
            signal.connect(receiver, self.app)
        try:
            yield self
        finally:
            for target, name, hook in hooks:
                event.remove(target, name, hook)
            for signal, receiver in signals:
                signal.disconnect(receiver, self.app)

    def _started(self, _sender: Any, **_extra: Any) -> None:
        self.current = Call(request.method, request.path, datetime.now(UTC),
                            rule=request.url_rule.rule if request.url_rule else None)
        self.calls.append(self.current)

    def _finished(self, _sender: Any, response: Any, **_extra: Any) -> None:
        call = self.current
        if call is None:
            return
        call.status = response.status_code
        call.board = g.get("board") is not None
        person = g.get("api_user") or (current_user if current_user.is_authenticated else None)
        if person is not None:
            call.user_id, call.label = person.id, person.email

    def _torn_down(self, _sender: Any, **_extra: Any) -> None:
        if self.current is not None:
            self.current.ended = datetime.now(UTC)
        self.current = None

    def _transaction(self, connection: Any) -> Transaction | None:
        if connection not in self.open:
            if self.current is None:
                return None
            self.open[connection] = (self.current, Transaction())
        return self.open[connection][1]

    def _statement(self, connection: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        match = DML.match(statement)
        transaction = self._transaction(connection) if match else None
        if match and transaction is not None:
            transaction.statements.add((match.group(1).split()[0].upper(), match.group(2).lower()))

    def _row(self, op: str, mapper: Mapper, connection: Any, target: Any, columns: frozenset[str]) -> None:
        transaction = self._transaction(connection)
        if transaction is None:
            return
        table = mapper.local_table.name
        row = dict(inspect(target).dict)
        transaction.rows.append((table, op, row, columns))
        if table == "audit_events" and op == "INSERT":
            transaction.audits.append(row)

    def _inserted(self, mapper: Mapper, connection: Any, target: Any) -> None:
        self._row("INSERT", mapper, connection, target, frozenset())

    def _updated(self, mapper: Mapper, connection: Any, target: Any) -> None:
        state = inspect(target)
        columns = frozenset(c.key for c in mapper.column_attrs if state.attrs[c.key].history.has_changes())
        if columns:
            self._row("UPDATE", mapper, connection, target, columns)

    def _deleted(self, mapper: Mapper, connection: Any, target: Any) -> None:
        self._row("DELETE", mapper, connection, target, frozenset())

    def _commit(self, connection: Any) -> None:
        call, transaction = self.open.pop(connection, (None, None))
        if call is not None and transaction is not None:
            call.committed.append(transaction)

    def _rollback(self, connection: Any) -> None:
        self.open.pop(connection, None)


# ---------------------------------------------------------------------------
# What a transaction changed, and whether its audit events cover it


def peoples_changes(transaction: Transaction) -> list[str]:
    """The rows (and statements outside the ORM) of the domain a transaction changed, described."""
    changes = []
    for table, op, row, columns in transaction.rows:
        if table == "audit_events" or table in NOT_PEOPLES_CHANGES or (table, columns) in STAMPS:
            continue
        changes.append(f"{op} {table} {row.get('id', row.get('screen_id'))} {sorted(columns)}")
    orm_tables = {table for table, *_ in transaction.rows}
    for op, table in sorted(transaction.statements):
        if table not in orm_tables and table != "audit_events" and table not in NOT_PEOPLES_CHANGES:
            changes.append(f"{op} {table} (without the ORM)")
    return changes


def uncovered(transaction: Transaction) -> list[str]:
    """Changed rows of the domain without an audit event naming them (or what they belong to)."""
    named = {(a["object_type"], a["object_id"]) for a in transaction.audits}
    types = {a["object_type"] for a in transaction.audits}
    missing = []
    for table, op, row, columns in transaction.rows:
        if table == "audit_events" or table in NOT_PEOPLES_CHANGES or (table, columns) in STAMPS:
            continue
        if table not in OWNER_OF:
            missing.append(f"{op} {table}: a table nobody has classified (OWNER_OF or NOT_PEOPLES_CHANGES)")
            continue
        kind, ident = OWNER_OF[table](row)
        covered = (kind, ident) in named if ident is not None else kind in types
        if not covered and ALSO_COVERED_BY.get((table, columns)) in types:
            covered = True
        if not covered:
            missing.append(f"{op} {table} {row.get('id')} {sorted(columns)}: no audit event for {kind} {ident}")
    orm_tables = {table for table, *_ in transaction.rows}
    for op, table in sorted(transaction.statements):
        if table in orm_tables or table == "audit_events" or table in NOT_PEOPLES_CHANGES:
            continue
        if table not in OWNER_OF:
            missing.append(f"{op} {table}: a table nobody has classified (OWNER_OF or NOT_PEOPLES_CHANGES)")
        elif OWNER_OF[table]({})[0] not in types:
            missing.append(f"{op} {table} (without the ORM): no audit event for a {OWNER_OF[table]({})[0]}")
    return missing


def problems_of(call: Call) -> list[str]:
    """What is wrong with one request's writes and audit events."""
    where = f"{call.method} {call.path} ({call.status})"
    found = []
    audits = [a for t in call.committed for a in t.audits]
    if call.board:
        written = {table for t in call.committed for table, *_ in t.rows}
        written |= {table for t in call.committed for _op, table in t.statements}
        strays = sorted(written - BOARD_REPORTS - set(NOT_PEOPLES_CHANGES))
        if strays or audits:
            found.append(f"{where}: a board's request wrote {strays} and {len(audits)} audit events")
        return found
    if call.method in ("GET", "HEAD"):
        changed = [c for t in call.committed for c in peoples_changes(t)]
        if changed or audits:
            found.append(f"{where}: reading changed {changed} and wrote {len(audits)} audit events")
        return found
    for transaction in call.committed:
        found += [f"{where}: {problem}" for problem in uncovered(transaction)]
    for audit in audits:
        who = (audit["user_id"], audit["actor"])
        if who != (call.user_id, call.label):
            found.append(f"{where}: {audit['action']} names {who}, not {(call.user_id, call.label)}")
        if call.ended is None or not call.started <= audit["at"] <= call.ended:
            found.append(f"{where}: {audit['action']} at {audit['at']} is outside the request")
        if not (audit["action"] and audit["object_type"] and audit["object_id"] is not None):
            what = f"{audit['object_type']} {audit['object_id']}"
            found.append(f"{where}: {audit['action']} lacks what it changed ({what})")
    return found


def changed_something(call: Call) -> bool:
    return any(peoples_changes(t) for t in call.committed) or (
        call.board and any(t.rows or t.statements for t in call.committed))


# ---------------------------------------------------------------------------
# The department's day


@dataclass
class Day:
    """The people of the day, signed in on the staff pages and holding API tokens, and the ids of
    what they made. `task` is the plan's task 4, whose media, playlists and posts they work on."""

    app: Flask
    web: dict[str, FlaskClient] = field(default_factory=dict)
    csrf: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    ids: dict[str, Any] = field(default_factory=dict)

    @property
    def task(self) -> int:
        return int(self.ids["task"])

    def page(self, who: str, method: str, url: str, data: dict[str, Any] | None = None, **extra: Any) -> Any:
        """A page or form of the staff side, as `who`, with their CSRF token on anything that writes."""
        if method in WRITES:
            data = {"csrf_token": self.csrf[who]} | (data or {})
        return self.web[who].open(url, method=method, data=data, **extra)

    def form(self, who: str, url: str, data: dict[str, Any] | None = None, **extra: Any) -> Any:
        """A form sent that went through: no error message on the answer or the page it leads to."""
        answer = self.page(who, "POST", url, data, **extra)
        assert answer.status_code in (200, 302), (url, answer.status_code)
        body = answer.get_data(as_text=True)
        if answer.status_code == 302:
            body = self.web[who].get(answer.headers["Location"]).get_data(as_text=True)
        assert "flash flash-error" not in body and 'class="error"' not in body, (url, _errors(body))
        return answer

    def api(self, who: str, method: str, url: str, expect: int = 200, **extra: Any) -> Any:
        """An API call with `who`'s token, answered with `expect`; its JSON body."""
        headers = self.tokens[who] | extra.pop("headers", {})
        answer = self.app.test_client().open(url, method=method, headers=headers, **extra)
        assert answer.status_code == expect, (method, url, answer.status_code, answer.get_data(as_text=True)[:300])
        return answer.get_json() if answer.data else None

    def sign_in(self, who: str, email: str, password: str = STRONG_PASSWORD) -> None:
        client = self.web.setdefault(who, self.app.test_client())
        page = client.get("/login")
        answer = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(page)})
        assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
        self.csrf[who] = csrf_token(client.get("/account/"))

    def new_token(self, who: str, name: str) -> str:
        """A token made on `who`'s account page; the page shows it once."""
        return _shown_once(self.form(who, "/account/tokens", {"name": name}))

    def work(self) -> None:
        """The derivative workers catch up (outside any request, as in production)."""
        with self.app.app_context():
            work_until_idle(self.app.config["PANOLED"])


def _errors(body: str) -> list[str]:
    return re.findall(r'class="(?:flash flash-error|error)"[^>]*>(.*?)<', body, re.S)


def _shown_once(answer: Any) -> str:
    """The secret, token or password a page shows once."""
    match = SECRET.search(answer.get_data(as_text=True))
    assert match, "nothing shown once on the page"
    return match.group(1)


def _made(answer: Any, separator: str = "/") -> int:
    """The id of what a form made, from where it sends the person next."""
    return int(answer.headers["Location"].rsplit(separator, 1)[1])


def _file(data: bytes, name: str) -> tuple[io.BytesIO, str]:
    return io.BytesIO(data), name


def people_and_tokens(day: Day) -> None:
    """The admin signs in, makes a token, and adds the team through the API and the admin pages."""
    day.sign_in("admin", "admin@example.org")
    day.tokens["admin"] = bearer(day.new_token("admin", "Quản trị"))
    for role in ("editor", "approver", "operator", "auditor"):
        day.api("admin", "POST", "/api/v1/users", 201, json={
            "email": f"{role}@example.org", "role": role, "password": STRONG_PASSWORD, "display_name": role})
    _shown_once(day.form("admin", "/admin/users", {"email": "tam.nguyen@example.org", "role": "editor",
                                                   "display_name": "Nguyễn Thị Tâm"}))
    for role in ("editor", "approver", "operator", "auditor"):
        day.sign_in(role, f"{role}@example.org")
        day.tokens[role] = bearer(day.new_token(role, f"Công cụ của {role}"))


def plan_and_campaigns(day: Day) -> None:
    """The plan imported (preview and cancel, preview and confirm; another through the API),
    campaigns made, edited and moved on, on the pages and through the API."""
    plan = PLAN_FILE.read_bytes()
    for then in ("/plans/import/cancel", "/plans/import/confirm"):
        preview = day.form("editor", "/plans/import", {"file": _file(plan, PLAN_FILE.name), "number": ""},
                           content_type="multipart/form-data")
        token = re.search(r'name="token" type="hidden" value="([^"]+)"', preview.get_data(as_text=True))
        done = day.form("editor", then, {"token": token.group(1)})
    day.ids["plan"] = _made(done, "plan=")
    with day.app.app_context():
        task = select(Campaign.id).where(Campaign.plan_id == day.ids["plan"], Campaign.number == 4)
        day.ids["task"] = db.session.scalar(task)
    day.api("editor", "POST", "/api/v1/plans/import", content_type="multipart/form-data",
            data={"file": _file(plan, PLAN_FILE.name), "number": "82/KH-STNMT"})
    campaign = {"title": "Tuyên truyền Luật Tài nguyên nước 2023", "plan_id": "0", "lead_unit": "Phòng Tài nguyên nước",
                "partner_units": "Văn phòng Sở\nTrung tâm Công nghệ thông tin", "form_text": "Pano, website",
                "channels": ["panoled", "website"], "period_text": "Quý III/2024", "description": "Nhiệm vụ bổ sung"}
    made = _made(day.form("editor", "/campaigns/new", campaign))
    day.form("editor", f"/campaigns/{made}/edit", campaign | {"partner_units": "Văn phòng Sở", "channels": ["panoled"]})
    day.form("editor", f"/campaigns/{made}/status", {"to_status": "planned", "note": "Sẵn sàng"})
    other = day.api("editor", "POST", "/api/v1/campaigns", 201,
                    json={"title": "Ngày Đa dạng sinh học", "period_text": "Tháng 5/2024"})["id"]
    day.api("editor", "PATCH", f"/api/v1/campaigns/{other}", json={"description": "Hưởng ứng 22/5"})
    day.api("editor", "PATCH", f"/api/v1/campaigns/{other}", json={"plan_id": day.ids["plan"]})  # into the plan
    day.form("editor", f"/campaigns/{made}/edit", campaign | {"partner_units": "Văn phòng Sở", "channels": ["panoled"],
                                                              "plan_id": str(day.ids["plan"])})  # only the plan
    day.api("editor", "POST", f"/api/v1/campaigns/{other}/transitions", json={"to": "planned"})
    day.api("approver", "POST", f"/api/v1/campaigns/{other}/transitions", json={"to": "approved"})


def boards(day: Day) -> None:
    """The operator registers boards on the page and through the API (before the media, so renditions fit them)."""
    _shown_once(day.form("operator", "/screens/new", {
        "name": "Bảng Panoled Bãi Sau", "code": "VT-BS", "group_name": "Vũng Tàu", "address": "Thùy Vân",
        "width": "960", "height": "320", "pixel_pitch_mm": "10", "viewing_distance_m": "50", "hours": "00:00-24:00",
        "timezone": "Asia/Ho_Chi_Minh", "adapter_kind": "simulator", "adapter_options": ""}))
    board = day.api("operator", "POST", "/api/v1/screens", 201, json={
        "name": "Bảng Panoled chợ Bến Đình", "code": "VT-BD", "width": 960, "height": 320, "adapter": "webplayer",
        "group": "Vũng Tàu", "operating_hours": "00:00-24:00"})
    codes = {s["code"]: s["id"] for s in day.api("operator", "GET", "/api/v1/screens")["screens"]}
    day.ids |= {"board": board["id"], "page_board": codes["VT-BS"]}


def media(day: Day) -> None:
    """Uploads (the page's uploader, the plain form, the API), banners, fit, replacement, alt text, review."""
    def uploaded_on_the_page(name: str, colour: tuple[int, int, int]) -> int:
        answer = day.web["editor"].post(f"/campaigns/{day.task}/media/upload",
                                        data=media_files.png_bytes(colour=colour),
                                        headers={"X-Filename": name, "X-CSRFToken": day.csrf["editor"],
                                                 "Content-Type": "application/octet-stream"})
        assert answer.status_code == 201, answer.get_data(as_text=True)
        return int(answer.get_json()["id"])

    first = uploaded_on_the_page("ap-phich-1.png", (40, 100, 50))
    second = uploaded_on_the_page("ap-phich-2.png", (80, 100, 50))
    day.form("editor", f"/campaigns/{day.task}/media/upload", {
        "files": [_file(media_files.png_bytes(colour=(10, 200, 90)), "ap-phich-3.png")], "as_banner": "poster"},
        content_type="multipart/form-data")
    day.form("editor", f"/campaigns/{day.task}/media/banner", {
        "title": "Giờ Trái Đất 2024", "body": "Tắt đèn một giờ", "text_color": "#FFFFFF",
        "background_color": "#0F6B4A"})
    third = day.api("editor", "POST", f"/api/v1/media?campaign_id={day.task}&filename=ap-phich-4.png", 201,
                    data=media_files.png_bytes(colour=(200, 30, 90)),
                    headers={"Content-Type": "application/octet-stream"})["id"]
    day.api("editor", "POST", "/api/v1/media/banners", 201,
            json={"campaign_id": day.task, "title": "Ngày Môi trường thế giới"})
    day.work()
    day.form("editor", f"/media/{first}/fit", {"fit_mode": "cover", "focal_x": "0.3", "focal_y": "0.4",
                                               "background": "#112233"})
    replacement = _file(media_files.png_bytes(colour=(5, 5, 250)), "ap-phich-2-moi.png")
    day.form("editor", f"/media/{second}/replace", {"file": replacement}, content_type="multipart/form-data")
    day.work()
    day.api("editor", "PATCH", f"/api/v1/media/{first}", json={"alt_text": "Áp phích Giờ Trái Đất 2024"})
    day.api("editor", "PATCH", f"/api/v1/media/{second}", json={"alt_text": "Áp phích tắt đèn"})
    day.form("editor", f"/media/{first}/status", {"to_status": "pending"})
    day.form("approver", f"/media/{first}/status", {"to_status": "approved"})
    for asset in (second, third):
        day.api("editor", "POST", f"/api/v1/media/{asset}/transitions", json={"to": "pending"})
    day.api("approver", "POST", f"/api/v1/media/{second}/transitions", json={"to": "approved"})
    day.api("approver", "POST", f"/api/v1/media/{third}/transitions", json={"to": "rejected", "reason": "Sai logo"})
    day.api("editor", "POST", f"/api/v1/media/{third}/transitions", json={"to": "archived"})
    day.form("editor", f"/media/{first}/website", {"public": "1"})
    day.ids |= {"poster": first, "second_poster": second}


def playlists(day: Day) -> None:
    """Playlists built, changed and published on the pages and through the API."""
    posters = (day.ids["poster"], day.ids["second_poster"])
    playlist = _made(day.form("editor", f"/campaigns/{day.task}/playlists", {"name": "Giờ Trái Đất trên pano"}))
    for asset in posters:
        day.form("editor", f"/playlists/{playlist}/items", {"asset_id": str(asset)})
    items = [item["id"] for item in day.api("editor", "GET", f"/api/v1/playlists/{playlist}")["items"]]
    day.form("editor", f"/playlists/{playlist}/items/{items[0]}/duration", {"seconds": "12"})
    day.form("editor", f"/playlists/{playlist}/items/{items[0]}/move", {"direction": "down"})
    day.form("editor", f"/playlists/{playlist}/publish")
    day.form("editor", f"/playlists/{playlist}/items/{items[1]}/remove")
    day.form("editor", f"/playlists/{playlist}/publish")
    spare = day.api("editor", "POST", "/api/v1/playlists", 201,
                    json={"campaign_id": day.task, "name": "Dự phòng"})["id"]
    for asset in posters:
        day.api("editor", "POST", f"/api/v1/playlists/{spare}/items", 201, json={"asset_id": asset, "duration": 10})
    items = [item["id"] for item in day.api("editor", "GET", f"/api/v1/playlists/{spare}")["items"]]
    day.api("editor", "PATCH", f"/api/v1/playlists/{spare}/items/{items[0]}", json={"duration": 8, "move": "down"})
    day.api("editor", "DELETE", f"/api/v1/playlists/{spare}/items/{items[1]}")
    day.api("editor", "POST", f"/api/v1/playlists/{spare}/publish")
    day.ids |= {"playlist": playlist, "fallback": spare}


def board_settings(day: Day) -> None:
    """Secrets rotated, a screenshot asked for, boards edited, fallback playlists set."""
    board, page_board = day.ids["board"], day.ids["page_board"]
    _shown_once(day.form("operator", f"/screens/{page_board}/secret"))
    day.ids["secret"] = day.api("operator", "POST", f"/api/v1/screens/{board}/secret")["secret"]
    day.form("operator", f"/screens/{page_board}/screenshot")
    day.form("operator", f"/screens/{page_board}/edit", {
        "name": "Bảng Panoled Bãi Sau", "code": "VT-BS", "group_name": "Vũng Tàu", "address": "Thùy Vân, phường 8",
        "width": "960", "height": "320", "pixel_pitch_mm": "8", "viewing_distance_m": "40", "hours": "00:00-24:00",
        "timezone": "Asia/Ho_Chi_Minh", "adapter_kind": "simulator", "adapter_options": "", "active": "y"})
    day.api("operator", "PATCH", f"/api/v1/screens/{board}", json={"address": "Chợ Bến Đình, phường 5"})
    day.form("editor", f"/screens/{page_board}/fallback", {"playlist_id": str(day.ids["fallback"])})
    day.api("editor", "PUT", f"/api/v1/screens/{board}/fallback", json={"playlist_id": day.ids["fallback"]})


def rules(day: Day) -> None:
    """Rules made, an interrupt approved by someone else, rules deleted: on the pages and through the API."""
    rule = {"playlist_id": str(day.ids["playlist"]), "board_ids": [str(day.ids["board"])], "groups": ["Vũng Tàu"],
            "weekdays": [str(d) for d in range(7)], "windows": "07:00-09:00", "priority": "5", "quota": "fill",
            "interrupt": "y", "note": "Cảnh báo triều cường"}
    interrupt = _made(day.form("editor", "/schedule/new", rule), "-")
    day.form("approver", f"/schedule/{interrupt}/approve")
    day.ids["rule"] = _made(day.form("editor", "/schedule/new", rule | {"interrupt": ""}), "-")
    day.form("editor", f"/schedule/{interrupt}/delete")
    other = day.api("operator", "POST", "/api/v1/rules", 201, json={
        "playlist_id": day.ids["playlist"], "board_ids": [day.ids["board"]], "interrupt": True,
        "windows": ["10:00-10:30"]})["id"]
    day.api("approver", "POST", f"/api/v1/rules/{other}/approve")
    day.api("editor", "DELETE", f"/api/v1/rules/{other}", 204)


def the_board_reports(day: Day) -> None:
    """The board reads its manifest and media, and reports a heartbeat and its plays (its own secret)."""
    board, secret, asset = day.ids["board"], day.ids["secret"], day.ids["poster"]
    make_manifest(day.app, board, 1, (asset,))  # as the scheduler would
    client = day.app.test_client()
    assert client.get(f"/api/v1/screens/{board}/manifest", headers=bearer(secret)).status_code == 200
    assert client.get(f"/api/v1/screens/{board}/media/{asset}", headers=bearer(secret)).status_code == 200
    beat = post_signed(client, f"/api/v1/screens/{board}/heartbeat", secret, {"version": 1, "asset_id": asset})
    assert beat.status_code == 200
    start = datetime.now(UTC) - timedelta(minutes=3)
    play = {"event_id": str(uuid.uuid4()), "asset_id": asset, "manifest_version": 1, "start": start.isoformat(),
            "end": (start + timedelta(seconds=12)).isoformat(), "frame_hash": None}
    assert post_signed(client, f"/api/v1/screens/{board}/playlogs", secret, {"plays": [play]}).status_code == 200


def website(day: Day) -> None:
    """A post written, changed, approved by someone else and published (its second medium gets its
    public name then); another scheduled for later and taken back."""
    shown = [str(day.ids["poster"]), str(day.ids["second_poster"])]
    post = _made(day.form("editor", f"/campaigns/{day.task}/website/posts", {
        "title": "Hưởng ứng Giờ Trái Đất 2024", "summary": "Tắt đèn một giờ.", "body": "Đoạn một.",
        "media": shown[:1]}))
    day.form("editor", f"/website/posts/{post}", {"title": "Hưởng ứng Giờ Trái Đất năm 2024", "summary": "Tắt đèn.",
                                                  "body": "Đoạn một.\n\nĐoạn hai.", "media": shown})
    later = _made(day.form("editor", f"/campaigns/{day.task}/website/posts",
                           {"title": "Ngày Môi trường thế giới 5/6", "body": "Đoạn."}))
    for each in (post, later):
        day.form("editor", f"/website/posts/{each}/move", {"to": "pending"})
        day.form("approver", f"/website/posts/{each}/move", {"to": "approved"})
    day.form("editor", f"/website/posts/{post}/move", {"to": "published"})
    day.form("editor", f"/website/posts/{later}/move", {"to": "published", "publish_at": "2099-06-05T08:00"})
    day.form("approver", f"/website/posts/{later}/move", {"to": "unpublished"})  # the schedule taken back
    day.ids["post"] = post


def accounts_at_the_end_of_the_day(day: Day) -> None:
    """A role changed, an account switched off, a password reset, tokens revoked by the admin and by
    their owner, a password changed, the language switched, signing out."""
    with day.app.app_context():
        newcomer = db.session.scalar(select(User.id).where(User.email == "tam.nguyen@example.org"))
        auditor = db.session.scalar(select(User.id).where(User.email == "auditor@example.org"))
        auditor_token = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == auditor))
    day.form("admin", f"/admin/users/{newcomer}", {"role": "approver", "active": "y"})
    day.form("admin", f"/admin/users/{newcomer}", {"role": "approver"})  # "active" unticked: switched off
    _shown_once(day.form("admin", f"/admin/users/{newcomer}/reset-password"))
    day.form("admin", f"/admin/users/{auditor}/tokens/{auditor_token}/revoke")
    day.new_token("auditor", "Xuất báo cáo")
    with day.app.app_context():
        spare = db.session.scalar(select(db.func.max(ApiToken.id)).where(ApiToken.user_id == auditor))
    day.form("auditor", f"/account/tokens/{spare}/revoke")
    day.form("auditor", "/account/password", {"current": STRONG_PASSWORD, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    day.form("auditor", "/language", {"lang": "en", "next": "/"})
    day.form("auditor", "/logout")
    day.ids["newcomer"] = newcomer


def every_page_read(day: Day) -> None:
    """Every page and API read of the staff side with real ids (the admin), and the acceptance
    report and its download (the auditor, signed in again with the new password)."""
    values = {"campaign_id": day.task, "plan_id": day.ids["plan"], "asset_id": day.ids["poster"],
              "playlist_id": day.ids["playlist"], "rule_id": day.ids["rule"], "screen_id": day.ids["board"],
              "user_id": day.ids["newcomer"], "post_id": day.ids["post"], "what": "thumbnail",
              "profile_key": "960x320", "name": "Vũng Tàu", "filename": "player/player.js", "token": "x",
              "variant": "w480.jpg"}
    for rule in day.app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or access_of(day.app, rule.endpoint) == BOARD:
            continue
        url = rule.build({name: values[name] for name in rule.arguments}, append_unknown=False)[1]
        if url.startswith("/api/"):
            answer = day.app.test_client().get(url, headers=day.tokens["admin"])
        else:
            answer = day.page("admin", "GET", url)
        assert answer.status_code < 500, url
    day.sign_in("auditor", "auditor@example.org", NEW_PASSWORD)
    report = f"scope=campaign:{day.task}&from=2024-01-01&to=2024-12-31"
    assert day.page("auditor", "GET", f"/reports/acceptance?{report}").status_code == 200
    assert day.page("auditor", "GET", f"/reports/acceptance/download?{report}&format=csv").status_code == 200


NEW_PASSWORD = "rung-ngap-man-can-gio-2024"
DAY = (people_and_tokens, plan_and_campaigns, boards, media, playlists, board_settings, rules, the_board_reports,
       website, accounts_at_the_end_of_the_day, every_page_read)


def state_changing_routes(app: Flask) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in app.url_map.iter_rules() for method in (rule.methods or set()) & WRITES}


def test_every_table_is_audited_through_its_object_or_listed_with_a_reason(app: Flask) -> None:
    """A new table fails here until someone says which audited object its rows belong to, or why
    its rows are not changes made by people."""
    tables = {table.name for table in db.metadata.sorted_tables} - {"audit_events"}
    assert sorted(tables - set(OWNER_OF) - set(NOT_PEOPLES_CHANGES)) == []
    assert sorted(set(OWNER_OF) & set(NOT_PEOPLES_CHANGES)) == []
    assert sorted((set(OWNER_OF) | set(NOT_PEOPLES_CHANGES)) - tables) == []
    assert BOARD_REPORTS <= tables


def test_every_state_change_of_a_day_is_audited_with_who_when_and_what(app: Flask, accounts: Accounts) -> None:
    """The day's every request: each committed change of the domain has its audit event, from the
    person who made it, at that moment, naming what changed; every state-changing route was used."""
    accounts.create("admin")
    day = Day(app)
    with Recorder(app).watching() as recorder:
        for part in DAY:
            part(day)
    problems = [problem for call in recorder.calls for problem in problems_of(call)]
    assert problems == [], "\n".join(problems)

    succeeded = [c for c in recorder.calls if c.rule and c.status < 400]
    used = {(c.method, c.rule) for c in succeeded}
    changed = {(c.method, c.rule) for c in succeeded if changed_something(c)}
    routes = state_changing_routes(app)
    assert sorted(routes - used) == [], "state-changing routes the day never used"
    assert sorted(routes - changed - set(NOTHING_STORED)) == [], "state-changing routes that changed nothing"
    assert sorted(set(NOTHING_STORED) & changed) == [], "routes listed as storing nothing stored something"
    assert set(NOTHING_STORED) <= routes
