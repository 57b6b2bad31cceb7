"""The `simulator` kind: Panoled controllers without hardware.

A simulated board keeps the newest manifest it was given and refuses an older
one, as a real controller must. With the option `url` the board lives in a
simulator process (`display_adapters.simulator_server`) reached over HTTP,
and pushes are signed with the board key when the board has one; without `url`,
in this process (the embedded demo).
"""
from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from display_adapters.base import N_, BoardStatus, DisplayAdapter, PushResult, Rejected, RetryLater, check_http_url
from display_adapters.signing import signed_headers


@dataclass
class SimulatedBoard:
    """A controller's memory: the manifest it plays and every version it was offered."""

    current_version: int = 0
    manifest: dict[str, Any] | None = None
    accepted: list[int] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)

    def offer(self, manifest: Mapping[str, Any]) -> PushResult:
        version = manifest.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise Rejected(f"manifest version must be a positive whole number, got {version!r}")
        if version < self.current_version:
            self.refused.append(version)
            return PushResult(False, self.current_version, f"keeps version {self.current_version}, refuses {version}")
        if version > self.current_version:
            self.current_version, self.manifest = version, dict(manifest)
            self.accepted.append(version)
        return PushResult(True, self.current_version)


class LocalBoards:
    """Simulated boards living in this process, by board code."""

    def __init__(self) -> None:
        self._boards: dict[str, SimulatedBoard] = {}
        self._lock = threading.Lock()

    def offer(self, code: str, manifest: Mapping[str, Any]) -> PushResult:
        with self._lock:
            return self._boards.setdefault(code, SimulatedBoard()).offer(manifest)

    def get(self, code: str) -> SimulatedBoard | None:
        with self._lock:
            return self._boards.get(code)


LOCAL_BOARDS = LocalBoards()


class SimulatorAdapter(DisplayAdapter):
    kind = "simulator"
    description = N_("Simulated Panoled controller (for demos and tests)")
    optional_options = ("url", "screen")
    capabilities = frozenset({"push", "status", "screenshot"})  # screenshots come with its heartbeat when asked

    @classmethod
    def check_options(cls, options: Mapping[str, str]) -> None:
        super().check_options(options)
        check_http_url(options, "url")

    @property
    def screen(self) -> str:
        return self.board.options.get("screen") or self.board.code

    def push_manifest(self, manifest: Mapping[str, Any]) -> PushResult:
        url = self.board.options.get("url")
        if not url:
            return LOCAL_BOARDS.offer(self.screen, manifest)
        target = f"{url.rstrip('/')}/screens/{self.screen}/manifest"
        headers = {"Content-Type": "application/json"}
        if self.board.signing_key:
            # As for http-json: a push_id unique to the request keeps a quick retry from looking like a replay.
            body = json.dumps({**manifest, "push_id": uuid.uuid4().hex}).encode("utf-8")
            headers.update(signed_headers(self.board.signing_key, body))
        else:
            body = json.dumps(manifest).encode("utf-8")
        try:
            response = requests.post(target, data=body, timeout=self.timeout, headers=headers, allow_redirects=False)
        except requests.Timeout:
            raise RetryLater(f"no answer from {target} within {self.timeout:g} s", timeout=True) from None
        except requests.RequestException as error:
            raise RetryLater(f"cannot reach {target}: {type(error).__name__}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryLater(f"{target} answered {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code in (200, 409) and isinstance(answer.get("current_version"), int):
            return PushResult(response.status_code == 200, answer["current_version"], str(answer.get("detail", "")))
        raise Rejected(f"{target} answered {response.status_code}: {str(answer.get('error', ''))[:200]}")

    def fetch_status(self) -> BoardStatus:
        url = self.board.options.get("url")
        if not url:
            board = LOCAL_BOARDS.get(self.screen)
            return BoardStatus(True, board.current_version if board else 0, detail="in this process")
        target = f"{url.rstrip('/')}/screens/{self.screen}/state"
        try:
            response = requests.get(target, timeout=self.timeout, allow_redirects=False)
        except requests.Timeout:
            return BoardStatus(False, detail=f"no answer from {target} within {self.timeout:g} s")
        except requests.RequestException as error:
            return BoardStatus(False, detail=f"cannot reach {target}: {type(error).__name__}")
        try:
            state = response.json() if response.status_code == 200 else {}
        except ValueError:
            state = {}
        version = state.get("current_version") if isinstance(state, dict) else None
        if not isinstance(version, int):
            return BoardStatus(False, detail=f"{target} answered {response.status_code}")
        # A provisioned simulated board says what it shows now; a bare one only keeps manifests.
        playing = state.get("now_playing")
        asset = playing.get("asset_id") if isinstance(playing, dict) else None
        return BoardStatus(True, version, asset if isinstance(asset, int) else None)
