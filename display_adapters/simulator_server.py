"""Simulated Panoled controllers behind one HTTP server on 127.0.0.1.

Each board is addressed by its code, or, where a person looks (`state`,
`frame.png`, `faults`), also by its number: `/screens/1/frame.png` is the first
board the simulator was given (`SIM-01` of `panoled simulator run`). A board
whose code is that number keeps it. Manifests are pushed by code only.

- `POST /screens/<code>/manifest` offers a manifest: 200 when taken (or already
  held), 409 with the board's own version when it is older, 401 when the board
  has a key and the push is not signed with it (`display_adapters.signing`).
- `GET /screens/<code>/state`: what the board holds, every version it took or
  refused, and for a provisioned board what it plays now, its queue and faults
  (no answer while it is offline).
- `GET /screens/<code>/frame.png`: the picture on the board now, at its size.
- `POST /screens/<code>/faults`: `{"offline_seconds": 30}` (connections drop,
  and the board cannot reach the CMS), `{"slow_seconds": 2}`, `{"lost_acks": 1}`
  (the next manifest is taken but its answer is lost), `{"clock_skew_seconds":
  600}`, `{"disk_full": true}`, `{"screen_off": true}` (the panel is dark, the
  controller online), `{"clear": true}`; keys not given stay as they are.
- `GET /`: the wall, every board's picture, refreshed every few seconds.

A board the server was not told about (`add_board`) is created on first use with
no key and no CMS: it only keeps manifests, as the scheduler tests need. A
provisioned board (`BoardIdentity`) also fetches media, plays and reports
(`display_adapters.virtual_board`).
"""
from __future__ import annotations

import html
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from display_adapters.base import Rejected
from display_adapters.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, ReplayGuard, SignatureError, verify
from display_adapters.simulator import SimulatedBoard
from display_adapters.virtual_board import BoardIdentity, Faults, SimClock, VirtualBoard

__all__ = ["Boards", "Faults", "SimulatorServer"]

PATH = re.compile(r"^/screens/([A-Za-z0-9_.-]{1,40})/(manifest|state|faults|frame\.png)$")
NUMBER = re.compile(r"^[1-9][0-9]{0,5}$")
MAX_BODY = 64 * 1024 * 1024
TICK_SECONDS = 0.2
log = logging.getLogger("panoled.simulator")


class Boards:
    """Every board's manifest memory and faults, and the provisioned boards' players."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.boards: dict[str, SimulatedBoard] = {}
        self.faults: dict[str, Faults] = {}
        self.players: dict[str, VirtualBoard] = {}
        self.guards: dict[str, ReplayGuard] = {}

    def board(self, code: str) -> SimulatedBoard:
        return self.boards.setdefault(code, SimulatedBoard())

    def fault(self, code: str) -> Faults:
        return self.faults.setdefault(code, Faults())

    def player(self, code: str) -> VirtualBoard | None:
        return self.players.get(code)

    def code_of(self, name: str) -> str:
        """The board a URL names: by its code, or by its 1-based number among the
        provisioned boards, in the order they were added (a code wins)."""
        with self.lock:
            if name in self.players or name in self.boards or not NUMBER.match(name):
                return name
            codes = list(self.players)
        n = int(name)
        return codes[n - 1] if n <= len(codes) else name


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the CMS records every push
        pass

    def do_GET(self) -> None:
        if self.path in ("/", "/index.html"):
            return self._send_bytes(200, _wall(self.server.boards).encode("utf-8"), "text/html; charset=utf-8")
        match = PATH.match(self.path)
        if not match or match.group(2) not in ("state", "frame.png"):
            return self._send(404, {"error": "not found"})
        boards = self.server.boards
        code = boards.code_of(match.group(1))
        player = boards.player(code)
        if match.group(2) == "frame.png":
            if player is None:
                return self._send(404, {"error": "no such provisioned board"})
            return self._send_bytes(200, player.frame_png(), "image/png")
        with boards.lock:
            if boards.fault(code).offline:  # unplugged: whoever asks it gets no answer (the wall still shows it)
                return self._drop()
            board = boards.board(code)
            state = {"screen": code, "current_version": board.current_version, "accepted": list(board.accepted),
                     "refused": list(board.refused), "manifest": board.manifest}
            faults = boards.fault(code).describe()
        state.update(player.describe() if player is not None else {"faults": faults})
        self._send(200, state)

    def do_POST(self) -> None:
        match = PATH.match(self.path)
        if not match or match.group(2) not in ("manifest", "faults"):
            return self._send(404, {"error": "not found"})
        code, what, boards = match.group(1), match.group(2), self.server.boards
        if what == "faults":
            code = boards.code_of(code)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return self._send(400, {"error": "bad Content-Length"})
        if length > MAX_BODY or length < 0:
            return self._send(413, {"error": "too large"})
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self._send(400, {"error": "not JSON"})
        if not isinstance(body, dict):
            return self._send(400, {"error": "a JSON object is expected"})
        if what == "faults":
            with boards.lock:
                try:
                    boards.fault(code).apply(body)
                except ValueError as error:
                    return self._send(422, {"error": str(error)})
                faults = boards.fault(code).describe()
            return self._send(200, {"screen": code, "faults": faults})
        self._offer(code, raw, body)

    def _offer(self, code: str, raw: bytes, body: dict[str, Any]) -> None:
        boards = self.server.boards
        with boards.lock:
            fault = boards.fault(code)
            offline, slow, hold, skew = fault.offline, fault.slow_seconds, fault.hold, fault.clock_skew_seconds
        if offline:  # as if the board were unplugged: the connection drops without an answer
            return self._drop()
        if slow:
            time.sleep(slow)
        if hold is not None:
            hold.wait(60)
        player, replay = boards.player(code), None
        if player is not None:
            try:
                stamp = verify(player.identity.key, self.headers.get(TIMESTAMP_HEADER),
                               self.headers.get(SIGNATURE_HEADER), raw, now=time.time() + skew)
            except SignatureError as error:
                return self._send(401, {"error": f"signature refused: {error}"})
            try:
                boards.guards.setdefault(code, ReplayGuard()).check(self.headers.get(SIGNATURE_HEADER, ""), stamp,
                                                                   now=time.time() + skew)
            except SignatureError as error:
                replay = error
        with boards.lock:
            board = boards.board(code)
            before = board.current_version
            version = body.get("version")
            # A message seen before may only be answered, never change what the board holds
            # (a scheduler retrying within the same second sends the very same bytes).
            if replay is not None and not (isinstance(version, int) and version <= before):
                return self._send(401, {"error": f"signature refused: {replay}"})
            try:
                result = board.offer(body)
            except Rejected as error:
                return self._send(400, {"error": str(error)})
            lose_answer = fault.lost_acks > 0
            if lose_answer:
                fault.lost_acks -= 1
        if player is not None and result.accepted and result.current_version > before:
            player.take(dict(body))
        if lose_answer:  # taken, but the answer never reaches the scheduler
            return self._drop()
        answer: dict[str, Any] = {"current_version": result.current_version, "detail": result.detail}
        if player is not None:
            answer["playing_version"] = player.playing_version
        self._send(200 if result.accepted else 409, answer)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        self._send_bytes(status, json.dumps(body).encode("utf-8"), "application/json")

    def _send_bytes(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if content_type.startswith("text/html"):
            # The wall is plain HTML and pictures: no scripts at all.
            self.send_header("Content-Security-Policy",
                             "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'")
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the caller gave up waiting: its acknowledgement is lost
            self.close_connection = True


def _wall(boards: Boards) -> str:
    cards = []
    for code, player in sorted(boards.players.items()):
        state = player.describe()
        playing = state["now_playing"]
        what = html.escape(f"{playing['name'] or 'asset ' + str(playing['asset_id'])}" if playing else "—")
        faults = [k for k, v in state["faults"].items() if v]
        notes = [f"v{state['playing_version'] or '-'}"]
        if state["pending_version"]:
            notes.append(f"pending v{state['pending_version']}")
        notes.append(f"queue {state['queue_length']}")
        notes += [html.escape(k.replace("_", " ")) for k in faults]
        width = min(480, player.identity.width)
        cards.append(
            f'<figure><img src="/screens/{html.escape(code)}/frame.png" width="{width}" '
            f'height="{round(width * player.identity.height / player.identity.width)}" alt="{html.escape(code)}">'
            f"<figcaption><b>{html.escape(code)}</b> {player.identity.width}×{player.identity.height} · {what}"
            f"<br><small>{html.escape(state['clock'])} · {' · '.join(notes)}</small></figcaption></figure>")
    body = "\n".join(cards) or "<p>No provisioned boards.</p>"
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"refresh\" content=\"2\"><title>Panoled simulator</title>"
            "<style>body{background:#111;color:#ddd;font:14px system-ui,sans-serif;margin:1em}"
            "figure{display:inline-block;margin:0 1em 1em 0;vertical-align:top}"
            "img{background:#000;display:block;border:1px solid #333}</style></head>"
            f"<body><h1>Panoled simulator</h1>{body}</body></html>")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self.boards = Boards()


class SimulatorServer:
    """Started in a thread (tests, the demo) or in the foreground (`serve_forever`).

    `cms_url`, `state_dir` and `speed` are what provisioned boards (`add_board`) use.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, cms_url: str = "", state_dir: Path | None = None,
                 speed: float = 1.0, upload_seconds: float = 5.0, retry_base_seconds: float = 1.0,
                 retry_max_seconds: float = 60.0, heartbeat_seconds: float = 30.0) -> None:
        self._server = _Server((host, port))
        self._thread: threading.Thread | None = None
        self.cms_url, self.state_dir, self.clock = cms_url, state_dir, SimClock(speed)
        self._board_settings = {"upload_seconds": upload_seconds, "retry_base_seconds": retry_base_seconds,
                                "retry_max_seconds": retry_max_seconds, "heartbeat_seconds": heartbeat_seconds}
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def boards(self) -> Boards:
        return self._server.boards

    def add_boards(self, identities: Iterable[BoardIdentity]) -> list[VirtualBoard]:
        return [self.add_board(identity) for identity in identities]

    def add_board(self, identity: BoardIdentity) -> VirtualBoard:
        """A provisioned board: its own key, media, clock, queue and work thread."""
        if self.state_dir is None or not self.cms_url:
            raise ValueError("a provisioned board needs the simulator's state folder and the CMS address")
        boards = self.boards
        with boards.lock:
            faults = boards.fault(identity.code)
        player = VirtualBoard(identity, self.state_dir, self.cms_url, self.clock, faults, **self._board_settings)
        with boards.lock:
            boards.players[identity.code] = player
            memory, held = boards.board(identity.code), player.newest_manifest
            if held is not None and memory.current_version < int(held["version"]):
                # What its state folder kept from before a restart: it refuses anything older.
                memory.current_version, memory.manifest = int(held["version"]), held
        worker = threading.Thread(target=self._work, args=(player,), name=f"board-{identity.code}", daemon=True)
        self._workers.append(worker)
        worker.start()
        return player

    def _work(self, player: VirtualBoard) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                player.step()
            except Exception:  # a board's bug must not stop it for good
                log.exception("%s: simulator step failed", player.identity.code)

    def start(self) -> SimulatorServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="simulator", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        """Stops the boards (each records what it finished playing) and the server; safe to repeat."""
        if self._stop.is_set():
            return
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=5)
        for player in list(self.boards.players.values()):
            player.close()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
