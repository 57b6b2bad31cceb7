"""A FAKE of the NovaCloud / VNNOX Open Platform, on 127.0.0.1: not VNNOX.

No VNNOX account can be reached from the test machines, so the `novastar-vnnox`
driver is tested against this stand-in. It is strict where the public
documentation is explicit (developer-en.vnnox.com, "API Access Guide" and the
two endpoints below) and checks the rest as the driver reads it:

- every request: `AppKey` known, `Nonce` 8-64 letters or digits and not seen
  before, `CurTime` Unix seconds within 5 minutes of the fake's clock,
  `CheckSum` = hex SHA-256(AppSecret + Nonce + CurTime); otherwise 401 with
  `{"error": {"code", "message"}}`;
- `POST /v2/player/program/normal`: the payload's shape (playerIds, schedule,
  pages, widgets of type PICTURE or VIDEO with an absolute url, md5, size,
  duration in ms and a layout in %); a widget whose url points at the fake's own
  `/files/...` must have that file's MD5 and size. Answers `{"success", "fail"}`:
  known and online players succeed, the others fail;
- `POST /v2/player/current/online-status`: rows for the players it knows.

It also serves `/files/<path>` (a stand-in for wherever media is published for
the players to download) and can answer 503 to everything (`unavailable`).
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

NONCE = re.compile(r"^[A-Za-z0-9]{8,64}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME = re.compile(r"^\d{2}:\d{2}:\d{2}$")
PERCENT = re.compile(r"^\d{1,3}(\.\d+)?%$")
MD5 = re.compile(r"^[0-9a-f]{32}$")
WINDOW = 300


@dataclass
class FakeState:
    players: dict[str, bool] = field(default_factory=dict)  # player id -> online
    programs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # "/files/..." -> content
    refused: list[str] = field(default_factory=list)  # why requests were refused, in order
    unavailable: bool = False


class PayloadInvalid(ValueError):
    pass


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise PayloadInvalid(message)


def _check_schedule(schedule: Any, where: str) -> None:
    _check(isinstance(schedule, dict), f"{where} must be an object")
    _check(isinstance(schedule.get("startDate"), str) and bool(DATE.match(schedule["startDate"])), f"{where}.startDate")
    _check(isinstance(schedule.get("endDate"), str) and bool(DATE.match(schedule["endDate"])), f"{where}.endDate")
    _check(schedule["startDate"] <= schedule["endDate"], f"{where} ends before it starts")
    plans = schedule.get("plans")
    _check(isinstance(plans, list) and bool(plans), f"{where}.plans must be a non-empty list")
    for plan in plans:
        days = plan.get("weekDays")
        _check(isinstance(days, list) and bool(days) and all(d in range(7) for d in days), f"{where} weekDays 0-6")
        for key in ("startTime", "endTime"):
            _check(isinstance(plan.get(key), str) and bool(TIME.match(plan[key])), f"{where}.{key} HH:MM:SS")
        _check(plan["startTime"] < plan["endTime"], f"{where} plan ends before it starts")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        with self.server.lock:
            content = self.server.state.files.get(urlsplit(self.path).path)
        if content is None:
            return self._send(404, {"error": {"code": "NOT_FOUND", "message": "no such file"}})
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.server.state.unavailable:
            return self._send(503, {"error": {"code": "UNAVAILABLE", "message": "service unavailable"}})
        refusal = self._authentication_error()
        if refusal:
            with self.server.lock:
                self.server.state.refused.append(refusal)
            return self._send(401, {"error": {"code": "UNAUTHORIZED", "message": refusal}})
        try:
            payload = json.loads(body)
        except ValueError:
            return self._send(400, {"error": {"code": "BAD_REQUEST", "message": "body is not JSON"}})
        path = urlsplit(self.path).path
        try:
            if path == "/v2/player/program/normal":
                return self._send(200, self._program(payload))
            if path == "/v2/player/current/online-status":
                return self._send(200, self._online(payload))
        except PayloadInvalid as error:
            with self.server.lock:
                self.server.state.refused.append(str(error))
            return self._send(406, {"error": {"code": "PARAM_INVALID", "message": str(error)}})
        self._send(404, {"error": {"code": "NOT_FOUND", "message": path}})

    def _authentication_error(self) -> str:
        server = self.server
        key, nonce = self.headers.get("AppKey"), self.headers.get("Nonce") or ""
        cur_time, check = self.headers.get("CurTime") or "", self.headers.get("CheckSum") or ""
        if key != server.app_key:
            return "INVALID_APPKEY"
        if not NONCE.match(nonce):
            return "nonce must be 8-64 letters or digits"
        if not cur_time.isdigit() or abs(server.clock() - int(cur_time)) > WINDOW:
            return "CurTime is more than 5 minutes from the server's time"
        expected = hashlib.sha256((server.app_secret + nonce + cur_time).encode()).hexdigest()
        if check.lower() != expected:
            return "CheckSum does not match"
        with server.lock:
            if nonce in server.nonces:
                return "nonce already used"
            server.nonces.add(nonce)
        return ""

    def _program(self, payload: Any) -> dict[str, list[str]]:
        _check(isinstance(payload, dict), "body must be an object")
        ids = payload.get("playerIds")
        _check(isinstance(ids, list) and bool(ids) and all(isinstance(i, str) for i in ids), "playerIds")
        if "schedule" in payload:
            _check_schedule(payload["schedule"], "schedule")
        pages = payload.get("pages")
        _check(isinstance(pages, list) and bool(pages), "pages must be a non-empty list")
        for page in pages:
            _check(isinstance(page.get("name"), str) and bool(page["name"]), "page name")
            for n, schedule in enumerate(page.get("schedules", [])):
                _check_schedule(schedule, f"page {page['name']} schedules[{n}]")
            widgets = page.get("widgets")
            _check(isinstance(widgets, list) and bool(widgets), f"page {page['name']} needs widgets")
            for widget in widgets:
                self._check_widget(widget)
        with self.server.lock:
            state = self.server.state
            good = [i for i in ids if state.players.get(i)]
            for player in good:
                state.programs.setdefault(player, []).append(payload)
        return {"success": good, "fail": [i for i in ids if i not in good]}

    def _check_widget(self, widget: Any) -> None:
        _check(isinstance(widget, dict), "widget must be an object")
        _check(widget.get("type") in ("PICTURE", "VIDEO"), f"widget type {widget.get('type')!r}")
        url = widget.get("url")
        _check(isinstance(url, str) and urlsplit(url).scheme in ("http", "https") and bool(urlsplit(url).netloc),
               f"widget url {url!r} must be absolute")
        _check(isinstance(widget.get("md5"), str) and bool(MD5.match(widget["md5"])), "widget md5")
        _check(isinstance(widget.get("size"), int) and widget["size"] > 0, "widget size")
        _check(isinstance(widget.get("duration"), int) and widget["duration"] >= 0, "widget duration (ms)")
        _check(isinstance(widget.get("zIndex"), int), "widget zIndex")
        layout = widget.get("layout")
        _check(isinstance(layout, dict) and all(isinstance(layout.get(k), str) and PERCENT.match(layout[k])
                                                for k in ("x", "y", "width", "height")), "widget layout in %")
        own = urlsplit(url)
        if own.netloc == f"{self.server.server_address[0]}:{self.server.server_address[1]}":
            with self.server.lock:
                content = self.server.state.files.get(own.path)
            _check(content is not None, f"widget url {url} names no file")
            assert content is not None
            _check(hashlib.md5(content).hexdigest() == widget["md5"], f"widget md5 is not the MD5 of {url}")
            _check(len(content) == widget["size"], f"widget size is not the size of {url}")

    def _online(self, payload: Any) -> list[dict[str, Any]]:
        _check(isinstance(payload, dict) and isinstance(payload.get("playerIds"), list), "playerIds")
        with self.server.lock:
            players = dict(self.server.state.players)
        return [{"playerId": i, "sn": f"FAKE{n:016d}", "onlineStatus": 1 if players[i] else 0,
                 "lastOnlineTime": "2024-06-05 08:00:00"} for n, i in enumerate(payload["playerIds"]) if i in players]

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, app_key: str, app_secret: str, clock: Callable[[], float]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.app_key, self.app_secret, self.clock = app_key, app_secret, clock
        self.lock = threading.Lock()
        self.nonces: set[str] = set()
        self.state = FakeState()


class VnnoxFake:
    """The fake cloud; `players` are the player ids it knows, all online unless told."""

    def __init__(self, app_key: str, app_secret: str, players: list[str], clock: Callable[[], float] = time.time) -> None:
        self._server = _Server(app_key, app_secret, clock)
        self._server.state.players = {player: True for player in players}
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def state(self) -> FakeState:
        return self._server.state

    def publish(self, path: str, content: bytes) -> str:
        """Serve `content` at `/files<path>`; returns its URL."""
        with self._server.lock:
            self._server.state.files[f"/files{path}"] = content
        return f"{self.url}/files{path}"

    def start(self) -> VnnoxFake:
        # A short poll so that stop() returns at once.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="vnnox-fake", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
