"""A simulated board's media downloads, from a real HTTP server on 127.0.0.1: a new
manifest plays only once every file it names is whole on the board's disk."""
from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from display_adapters.virtual_board import BoardIdentity, Faults, SimClock, VirtualBoard

CHUNK = 1 << 16  # what the board reads at a time
VIDEO = bytes(range(256)) * (3 * CHUNK // 256)  # three reads' worth


class MediaServer:
    """Serves VIDEO at /media/7; `midway` runs once the first part of the body has been sent."""

    def __init__(self) -> None:
        self.midway: Callable[[], None] | None = None
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                outer.requests += 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(VIDEO)))
                self.end_headers()
                self.wfile.write(VIDEO[:CHUNK])
                self.wfile.flush()
                if outer.midway is not None:
                    outer.midway()
                self.wfile.write(VIDEO[CHUNK:])

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def media_server() -> Iterator[MediaServer]:
    server = MediaServer()
    yield server
    server.stop()


def test_a_disk_that_fills_up_during_a_download_keeps_no_part_of_it_and_the_manifest_waits(
        tmp_path: Path, media_server: MediaServer) -> None:
    faults = Faults()
    board = VirtualBoard(BoardIdentity("SIM-01", 1, 960, 320, "pnb_test"), tmp_path, media_server.url, SimClock(1.0),
                         faults)
    medium = {"asset_id": 7, "kind": "video", "ready": True, "sha256": hashlib.sha256(VIDEO).hexdigest(),
              "bytes": len(VIDEO), "path": "/media/7"}
    board.take({"version": 1, "media": [medium], "playlists": [], "segments": []})
    media_server.midway = lambda: setattr(faults, "disk_full", True)
    board._fetch_pending()
    state = board.describe()
    assert media_server.requests == 1
    assert (state["playing_version"], state["pending_version"]) == (None, 1)
    assert "disk full" in state["pending_error"]
    assert list(board.media_dir.iterdir()) == []  # neither the file nor a part of it

    media_server.midway = None
    faults.disk_full = False
    board._fetch_pending()
    assert board.playing_version == 1 and board.describe()["pending_error"] == ""
    assert [p.name for p in board.media_dir.iterdir()] == [medium["sha256"]]
    assert board.media_path(medium).read_bytes() == VIDEO
    board.close()
