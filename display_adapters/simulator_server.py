"""Simulated Panoled controllers behind one HTTP server on 127.0.0.1.

Each board is addressed by its code: `POST /screens/<code>/manifest` offers a
manifest (200 when taken, 409 with the board's own version when it is older),
`GET /screens/<code>/state` tells what the board holds and every version it
took or refused, `POST /screens/<code>/faults` makes it unreachable
(`{"offline_seconds": 30}`) or slow (`{"slow_seconds": 2}`) for a while.
"""
from __future__ import annotations

import json
import re
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from display_adapters.base import Rejected
from display_adapters.simulator import SimulatedBoard

PATH = re.compile(r"^/screens/([A-Za-z0-9_.-]{1,40})/(manifest|state|faults)$")
MAX_BODY = 64 * 1024 * 1024


@dataclass
class Faults:
    offline_until: float = 0.0
    slow_seconds: float = 0.0
    # Set by a test: manifests wait (up to a minute) until it is released.
    hold: threading.Event | None = None


class Boards:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.boards: dict[str, SimulatedBoard] = {}
        self.faults: dict[str, Faults] = {}

    def board(self, code: str) -> SimulatedBoard:
        return self.boards.setdefault(code, SimulatedBoard())

    def fault(self, code: str) -> Faults:
        return self.faults.setdefault(code, Faults())


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the CMS records every push
        pass

    def do_GET(self) -> None:
        match = PATH.match(self.path)
        if not match or match.group(2) != "state":
            return self._send(404, {"error": "not found"})
        code, boards = match.group(1), self.server.boards
        with boards.lock:
            board = boards.board(code)
            state = {"screen": code, "current_version": board.current_version, "accepted": list(board.accepted),
                     "refused": list(board.refused), "manifest": board.manifest}
        self._send(200, state)

    def do_POST(self) -> None:
        match = PATH.match(self.path)
        if not match or match.group(2) == "state":
            return self._send(404, {"error": "not found"})
        code, what, boards = match.group(1), match.group(2), self.server.boards
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self._send(413, {"error": "too large"})
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self._send(400, {"error": "not JSON"})
        if what == "faults":
            with boards.lock:
                fault = boards.fault(code)
                fault.offline_until = time.monotonic() + float(body.get("offline_seconds", 0))
                fault.slow_seconds = float(body.get("slow_seconds", 0))
            return self._send(200, {"screen": code})
        with boards.lock:
            fault = boards.fault(code)
            offline, slow, hold = fault.offline_until > time.monotonic(), fault.slow_seconds, fault.hold
        if offline:  # as if the board were unplugged: the connection drops without an answer
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return None
        if slow:
            time.sleep(slow)
        if hold is not None:
            hold.wait(60)
        with boards.lock:
            try:
                result = boards.board(code).offer(body)
            except Rejected as error:
                return self._send(400, {"error": str(error)})
        self._send(200 if result.accepted else 409,
                   {"current_version": result.current_version, "detail": result.detail})

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the caller gave up waiting: its acknowledgement is lost
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self.boards = Boards()


class SimulatorServer:
    """Started in a thread (tests, the demo) or in the foreground (`serve_forever`)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def boards(self) -> Boards:
        return self._server.boards

    def start(self) -> SimulatorServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="simulator", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
