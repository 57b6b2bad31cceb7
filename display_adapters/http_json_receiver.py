"""Reference receiver of the `http-json` push protocol (docs/http-json-protocol.md).

A controller that speaks the protocol behaves like this one: it verifies every
request's signature with the board key, refuses a timestamp outside ±300 s and
a message it has already seen, keeps the newest manifest version it took and
answers an older one with 409 and its own version. The same version again is
taken (200): a retried push whose answer was lost must not look like a failure.

Used by Panoled's tests, and runnable by integrators to see the CMS push:

    python -m display_adapters.http_json_receiver --secret pnb_... --port 8600

then register the board with `--adapter http-json --option url=http://127.0.0.1:8600`.
It listens on 127.0.0.1 unless told otherwise, and stdlib only.
"""
from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from display_adapters.signing import (SIGNATURE_HEADER, TIMESTAMP_HEADER, WINDOW_SECONDS, ReplayGuard, SignatureError,
                                      board_key, verify)

MAX_BODY = 16 * 1024 * 1024


@dataclass
class ReceiverState:
    """What the controller holds: the newest manifest and every version it took or refused."""

    current_version: int = 0
    manifest: dict[str, Any] | None = None
    asset_id: int | None = None
    accepted: list[int] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    unauthorised: int = 0
    board: str = ""  # the X-Panoled-Board of the last manifest taken


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        if self.path.rstrip("/") != "/status":
            return self._send(404, {"error": "not found"})
        if not self._verified(b"", guard=False):
            return None
        state = self.server.state
        with self.server.lock:
            answer = {"online": True, "current_version": state.current_version, "asset_id": state.asset_id}
        self._send(200, answer)

    def do_POST(self) -> None:
        if self.path.rstrip("/") != "/manifest":
            return self._send(404, {"error": "not found"})
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            return self._send(400, {"error": "bad Content-Length"})
        if length > MAX_BODY:
            return self._send(413, {"error": "manifest too large"})
        body = self.rfile.read(length)
        if not self._verified(body, guard=True):
            return None
        try:
            manifest = json.loads(body)
        except ValueError:
            return self._send(400, {"error": "the body is not JSON"})
        version = manifest.get("version") if isinstance(manifest, dict) else None
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            return self._send(400, {"error": "version must be a positive whole number"})
        state = self.server.state
        with self.server.lock:
            if version < state.current_version:
                state.refused.append(version)
                return self._send(409, {"current_version": state.current_version,
                                        "detail": f"holds version {state.current_version}, refuses {version}"})
            if version > state.current_version:
                state.current_version, state.manifest = version, manifest
                state.accepted.append(version)
                state.board = self.headers.get("X-Panoled-Board", "")
                if self.server.on_manifest is not None:
                    self.server.on_manifest(manifest)
        self._send(200, {"current_version": version})

    def _verified(self, body: bytes, guard: bool) -> bool:
        server = self.server
        stamp_text, signature = self.headers.get(TIMESTAMP_HEADER), self.headers.get(SIGNATURE_HEADER)
        try:
            now = server.clock()
            stamp = verify(server.key_hex, stamp_text, signature, body, now=now, window=server.window)
            if guard:
                server.replays.check(str(signature).strip(), stamp, now=now)
        except SignatureError as error:
            with server.lock:
                server.state.unauthorised += 1
            self._send(401, {"error": str(error)})
            return False
        return True

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], key_hex: str, window: int, clock: Callable[[], float],
                 on_manifest: Callable[[dict[str, Any]], None] | None, verbose: bool) -> None:
        super().__init__(address, _Handler)
        self.key_hex, self.window, self.clock, self.on_manifest, self.verbose = key_hex, window, clock, on_manifest, verbose
        self.replays = ReplayGuard(window)
        self.lock = threading.Lock()
        self.state = ReceiverState()


class HttpJsonReceiver:
    """One controller on `host:port` (port 0: any free one); started in a thread or in the foreground."""

    def __init__(self, key_hex: str, host: str = "127.0.0.1", port: int = 0, window: int = WINDOW_SECONDS,
                 clock: Callable[[], float] = time.time,
                 on_manifest: Callable[[dict[str, Any]], None] | None = None, verbose: bool = False) -> None:
        self._server = _Server((host, port), key_hex, window, clock, on_manifest, verbose)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def state(self) -> ReceiverState:
        return self._server.state

    def playing(self, asset_id: int | None) -> None:
        """Say what the controller shows now (its status reports it)."""
        with self._server.lock:
            self._server.state.asset_id = asset_id

    def start(self) -> HttpJsonReceiver:
        # A short poll so that stop() returns at once.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="http-json-receiver", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Reference receiver of Panoled's http-json push protocol.")
    key = parser.add_mutually_exclusive_group(required=True)
    key.add_argument("--secret", help="the board secret (pnb_...) the CMS showed when the board was registered")
    key.add_argument("--key", help="the board key itself (64 hex digits)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8600)
    args = parser.parse_args(argv)
    key_hex = args.key or board_key(args.secret)

    def show(manifest: dict[str, Any]) -> None:
        print(f"took manifest version {manifest['version']}: {len(manifest.get('media', []))} media, "
              f"{len(manifest.get('segments', []))} segments", flush=True)

    receiver = HttpJsonReceiver(key_hex, args.host, args.port, on_manifest=show, verbose=True)
    print(f"http-json receiver on {receiver.url} (POST /manifest, GET /status)", flush=True)
    try:
        receiver.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
