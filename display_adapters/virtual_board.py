"""One simulated Panoled controller at work: it fetches the media its manifests
name, plays its timeline on its own clock, records each complete play and sends
its plays and heartbeats to the CMS.

A new manifest stays pending until every medium it names is on the board's disk
with the right size and SHA-256; until then the board plays the manifest it had.
Plays go to a durable queue first (`PlaylogQueue`) and leave it only once the CMS
has answered for them; the queue also keeps the board's own tally of every play it
recorded, which an acceptance report can be checked against. Faults (`Faults`) make
the board unreachable, slow, deaf to its own acknowledgements, wrong about the time,
out of disk space, or dark (its panel switched off while its controller stays online).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from display_adapters import frames
from display_adapters.playback import Programme, ScreenPlay, iso
from display_adapters.playlog_queue import PlaylogQueue, QueuedPlay, QueueWriteFailed
from display_adapters.signing import board_key, signed_headers

log = logging.getLogger("panoled.simulator")

BATCH = 500
HEARTBEAT_SECONDS = 30.0
MAX_UNWRITTEN = 10_000  # plays held in memory while the disk is full


class DiskFull(OSError):
    """The simulated disk is full: nothing more can be stored."""


@dataclass
class Faults:
    """What is wrong with a board now. Times are `time.monotonic()` seconds."""

    offline_until: float = 0.0
    slow_seconds: float = 0.0
    # Set by a test: manifests wait (up to a minute) until it is released.
    hold: threading.Event | None = None
    lost_acks: int = 0  # the next N manifests are taken, but the answer never leaves
    clock_skew_seconds: float = 0.0
    disk_full: bool = False
    screen_off: bool = False  # the panel is off: nothing plays, but manifests, plays and heartbeats still flow

    @property
    def offline(self) -> bool:
        return self.offline_until > time.monotonic()

    def describe(self) -> dict[str, Any]:
        left = self.offline_until - time.monotonic()
        return {"offline_seconds_left": (round(left, 1) if left < 1e12 else "forever") if left > 0 else 0,
                "slow_seconds": self.slow_seconds, "lost_acks": self.lost_acks,
                "clock_skew_seconds": self.clock_skew_seconds, "disk_full": self.disk_full,
                "screen_off": self.screen_off}

    def apply(self, changes: dict[str, Any]) -> None:
        """Sets the faults named in `changes` (a POST /faults body); `{"clear": true}` clears all first."""
        if changes.get("clear"):
            self.offline_until, self.slow_seconds, self.lost_acks = 0.0, 0.0, 0
            self.clock_skew_seconds, self.disk_full, self.screen_off = 0.0, False, False
        if "offline_seconds" in changes:
            self.offline_until = time.monotonic() + _number(changes, "offline_seconds", 0, 10 ** 7)
        if "slow_seconds" in changes:
            self.slow_seconds = _number(changes, "slow_seconds", 0, 600)
        if "lost_acks" in changes:
            self.lost_acks = int(_number(changes, "lost_acks", 0, 1000))
        if "clock_skew_seconds" in changes:
            self.clock_skew_seconds = _number(changes, "clock_skew_seconds", -10 ** 8, 10 ** 8)
        if "disk_full" in changes:
            if not isinstance(changes["disk_full"], bool):
                raise ValueError("disk_full must be true or false")
            self.disk_full = changes["disk_full"]
        if "screen_off" in changes:
            if not isinstance(changes["screen_off"], bool):
                raise ValueError("screen_off must be true or false")
            self.screen_off = changes["screen_off"]


def _number(changes: dict[str, Any], key: str, low: float, high: float) -> float:
    value = changes[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"{key} must be a number from {low:g} to {high:g}")
    return float(value)


@dataclass(frozen=True)
class BoardIdentity:
    """Who a simulated board is in the CMS. The secret never appears in logs or reprs."""

    code: str
    screen_id: int
    width: int
    height: int
    secret: str = field(repr=False)
    name: str = ""

    @property
    def key(self) -> str:
        return board_key(self.secret)


class SimClock:
    """Simulated time: starts at the real time and runs `speed` times faster."""

    def __init__(self, speed: float = 1.0, start: datetime | None = None) -> None:
        if not speed > 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._origin = start or datetime.now(UTC)
        self._mono = time.monotonic()

    def now(self, skew_seconds: float = 0.0) -> datetime:
        return self._origin + timedelta(seconds=(time.monotonic() - self._mono) * self.speed + skew_seconds)


@dataclass
class _Link:
    """When to try the CMS again after a failure (exponential backoff with jitter)."""

    failures: int = 0
    next_at: float = 0.0
    error: str = ""

    def due(self) -> bool:
        return time.monotonic() >= self.next_at

    def failed(self, error: str, base: float, most: float) -> None:
        self.failures += 1
        self.error = error
        self.next_at = time.monotonic() + min(most, base * 2 ** (self.failures - 1)) * random.uniform(0.75, 1.25)

    def succeeded(self) -> None:
        self.failures, self.next_at, self.error = 0, 0.0, ""


class VirtualBoard:
    """A board's memory and work. `take()` is called by the HTTP server; `step()` by its thread."""

    def __init__(self, identity: BoardIdentity, state_dir: Path, cms_url: str, clock: SimClock, faults: Faults,
                 upload_seconds: float = 5.0, retry_base_seconds: float = 1.0, retry_max_seconds: float = 60.0,
                 heartbeat_seconds: float = HEARTBEAT_SECONDS, timeout: float = 10.0) -> None:
        self.identity, self.clock, self.faults = identity, clock, faults
        self.cms_url, self.timeout = cms_url.rstrip("/"), timeout
        self.upload_seconds, self.heartbeat_seconds = upload_seconds, heartbeat_seconds
        self.retry_base, self.retry_max = retry_base_seconds, retry_max_seconds
        self.folder = state_dir / identity.code
        self.media_dir = self.folder / "media"
        self.media_dir.mkdir(parents=True, exist_ok=True)
        self.queue = PlaylogQueue(self.folder / "playlogs.sqlite3")
        self._key = identity.key
        self._lock = threading.RLock()
        self._http = requests.Session()
        self._playing: dict[str, Any] | None = None
        self._programme: Programme | None = None
        self._cursor: datetime | None = None  # plays starting before this are recorded or were cut off
        self._pending: dict[str, Any] | None = None
        self._pending_error = ""
        self._downloads = _Link()
        self._uploads = _Link()
        self._heartbeats = _Link()
        self._last_upload = 0.0
        self._last_heartbeat = 0.0
        self._unwritten: list[QueuedPlay] = []
        self._record_error = ""
        self._sent = {"new": 0, "duplicates": 0}
        self._screenshot_wanted = False
        self._frame_cache: tuple[tuple[Any, ...], bytes] | None = None
        self._skew = faults.clock_skew_seconds
        self._dark = False  # the panel was off at the last step
        self._restore()

    # --- manifests ----------------------------------------------------------------

    def _restore(self) -> None:
        """A board remembers what it played across a restart (its manifests file)."""
        try:
            saved = json.loads((self.folder / "manifests.json").read_text("utf-8"))
        except (OSError, ValueError):
            return
        if saved.get("playing"):
            self._start_playing(saved["playing"], self.now())
        self._pending = saved.get("pending")

    def _save(self) -> None:
        temporary = self.folder / "manifests.json.tmp"
        try:
            temporary.write_text(json.dumps({"playing": self._playing, "pending": self._pending}), "utf-8")
            os.replace(temporary, self.folder / "manifests.json")
        except OSError as error:
            log.warning("%s: cannot save manifests: %s", self.identity.code, error)

    def take(self, manifest: dict[str, Any]) -> None:
        """A manifest newer than any the board had: fetched and played once its media are in."""
        with self._lock:
            self._pending, self._pending_error = manifest, ""
            self._downloads.succeeded()
            self._save()

    @property
    def playing_version(self) -> int | None:
        with self._lock:
            return int(self._playing["version"]) if self._playing else None

    @property
    def newest_manifest(self) -> dict[str, Any] | None:
        """The newest manifest the board holds: the pending one, else the one it plays."""
        with self._lock:
            return self._pending or self._playing

    def now(self) -> datetime:
        return self.clock.now(self.faults.clock_skew_seconds)

    def _start_playing(self, manifest: dict[str, Any], at: datetime) -> None:
        self._programme = Programme(manifest)
        self._playing, self._cursor = manifest, at

    # --- the work loop --------------------------------------------------------------

    def step(self) -> None:
        """One round of work: record finished plays, fetch pending media, send plays and heartbeats."""
        skew = self.faults.clock_skew_seconds
        if skew != self._skew:
            # The board's clock was set: what it was playing was cut, and the time it
            # jumped over was never played. Recording starts again from the new time.
            with self._lock:
                self._record_until(self.clock.now(self._skew))
                self._cursor = self.clock.now(skew) if self._cursor is not None else None
                self._skew = skew
        now = self.now()
        if self.faults.screen_off != self._dark:
            with self._lock:
                if self.faults.screen_off:  # what finished before the switch-off counts; the play on air is cut
                    self._record_until(now)
                elif self._cursor is not None:  # the time it was off was never played
                    self._cursor = now
                self._dark = self.faults.screen_off
        self._record_until(now)
        online = not self.faults.offline
        if online and self._pending is not None and self._downloads.due():
            self._fetch_pending()
        if online:
            self._send_plays()
            self._send_heartbeat()

    def _record_until(self, now: datetime) -> None:
        with self._lock:
            if self._dark or self._programme is None or self._cursor is None or self._playing is None:
                return
            plays = [p for p in self._programme.plays_between(self._cursor, now) if not p.truncated]
            if plays:
                self._cursor = plays[-1].end
            version = int(self._playing["version"])
            fresh = [self._event(p, version) for p in plays]
            self._store(fresh)

    def _event(self, play: ScreenPlay, version: int) -> QueuedPlay:
        return QueuedPlay(str(uuid.uuid4()), play.asset_id, version, iso(play.start), iso(play.end))

    def _store(self, fresh: list[QueuedPlay]) -> None:
        """Plays go to the queue; while the disk is full they wait in memory (bounded) and say so."""
        waiting = self._unwritten + fresh
        if not waiting:
            return
        try:
            if self.faults.disk_full:
                raise DiskFull(f"disk full: {len(waiting)} play(s) cannot be written to the queue")
            self.queue.put(waiting)
            self._unwritten, self._record_error = [], ""
        except (DiskFull, QueueWriteFailed) as error:
            dropped = max(0, len(waiting) - MAX_UNWRITTEN)
            self._unwritten = waiting[dropped:]
            self._record_error = str(error) + (f"; {dropped} oldest unwritten play(s) lost" if dropped else "")
            log.warning("%s: %s", self.identity.code, self._record_error)

    def _fetch_pending(self) -> None:
        with self._lock:
            manifest = self._pending
        if manifest is None:
            return
        try:
            for medium in manifest.get("media") or ():
                if medium.get("ready"):
                    self._fetch(medium)
        except (OSError, requests.RequestException, ValueError) as error:
            message = _reason(error)
            with self._lock:
                self._pending_error = message[:500]
                self._downloads.failed(message, self.retry_base, self.retry_max)
            log.warning("%s: manifest %s waits for its media: %s", self.identity.code, manifest.get("version"), message)
            return
        with self._lock:
            if self._pending is not manifest:  # a newer one arrived meanwhile: fetch that next round
                return
            now = self.now()
            self._record_until(now)
            self._start_playing(manifest, now)
            self._pending, self._pending_error = None, ""
            self._downloads.succeeded()
            self._save()
        log.info("%s: plays manifest %s", self.identity.code, manifest.get("version"))

    def media_path(self, medium: dict[str, Any]) -> Path:
        name = medium.get("sha256") or f"asset-{int(medium['asset_id'])}-{medium.get('revision') or 'x'}"
        return self.media_dir / str(name)

    def _fetch(self, medium: dict[str, Any]) -> None:
        target = self.media_path(medium)
        size = medium.get("bytes")
        if target.is_file() and (size is None or target.stat().st_size == size):
            return
        if self.faults.disk_full:
            raise DiskFull(f"disk full: cannot store media {medium['asset_id']} ({size or '?'} bytes)")
        url = self.cms_url + str(medium.get("path") or f"/api/v1/screens/{self.identity.screen_id}/media/{medium['asset_id']}")
        temporary = target.with_name(target.name + ".part")
        digest, written = hashlib.sha256(), 0
        try:
            with self._http.get(url, headers=self._bearer(), timeout=self.timeout, stream=True) as response:
                if response.status_code != 200:
                    raise CmsRefused(f"media {medium['asset_id']}: the CMS answered {response.status_code}")
                with temporary.open("wb") as out:
                    for chunk in response.iter_content(1 << 16):
                        if self.faults.disk_full:  # the disk filled up during the download
                            raise DiskFull(f"disk full: media {medium['asset_id']} stopped after {written} of "
                                           f"{size or '?'} bytes")
                        digest.update(chunk)
                        written += len(chunk)
                        out.write(chunk)
            if size is not None and written != size:
                raise CmsRefused(f"media {medium['asset_id']}: {written} bytes received, the manifest says {size}")
            if medium.get("sha256") and digest.hexdigest() != medium["sha256"]:
                raise CmsRefused(f"media {medium['asset_id']}: SHA-256 does not match the manifest")
        except Exception:
            temporary.unlink(missing_ok=True)  # never played, and it must not keep a full disk full
            raise
        os.replace(temporary, target)

    def _bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.identity.secret}"}

    def _post(self, what: str, body: dict[str, Any]) -> requests.Response:
        data = json.dumps(body, separators=(",", ":")).encode("utf-8")
        # Signed with the board's own clock: a skewed clock shows in the CMS's answer.
        stamp = time.time() + self.faults.clock_skew_seconds
        headers = self._bearer() | signed_headers(self._key, data, stamp) | {"Content-Type": "application/json"}
        return self._http.post(f"{self.cms_url}/api/v1/screens/{self.identity.screen_id}/{what}", data=data,
                               headers=headers, timeout=self.timeout)

    def _send_plays(self) -> None:
        with self._lock:
            self._store([])  # what waited for disk space goes to the queue first
        if not self._uploads.due() or time.monotonic() - self._last_upload < self.upload_seconds:
            return
        batch = self.queue.oldest(BATCH)
        if not batch:
            return
        self._last_upload = time.monotonic()
        try:
            response = self._post("playlogs", {"plays": [p.as_json() for p in batch]})
            answer = response.json() if response.status_code == 200 else {}
            if response.status_code != 200:
                raise CmsRefused(f"playlogs: the CMS answered {response.status_code}: {response.text[:200]}")
        except (requests.RequestException, ValueError) as error:
            self._uploads.failed(_reason(error), self.retry_base, self.retry_max)
            return
        answered = [str(e) for e in (answer.get("new") or []) + (answer.get("duplicates") or [])]
        self.queue.remove([p.event_id for p in batch if p.event_id in set(answered)])
        self._sent["new"] += len(answer.get("new") or [])
        self._sent["duplicates"] += len(answer.get("duplicates") or [])
        self._uploads.succeeded()
        if len(batch) == BATCH:
            self._last_upload = 0.0  # more waiting: the next batch goes at once

    def _send_heartbeat(self) -> None:
        if not self._heartbeats.due() or time.monotonic() - self._last_heartbeat < self.heartbeat_seconds:
            return
        self._last_heartbeat = time.monotonic()
        now = self.now()
        play = self.play_at(now)
        body: dict[str, Any] = {"version": self.playing_version, "asset_id": play.asset_id if play else None,
                                "at": iso(now)}
        if self._screenshot_wanted:
            body["screenshot"] = self.screenshot()
        try:
            response = self._post("heartbeat", body)
            if response.status_code != 200:
                raise CmsRefused(f"heartbeat: the CMS answered {response.status_code}: {response.text[:200]}")
            self._screenshot_wanted = bool(response.json().get("screenshot_wanted"))
        except (requests.RequestException, ValueError) as error:
            self._heartbeats.failed(_reason(error), self.retry_base, self.retry_max)
            return
        self._heartbeats.succeeded()

    # --- what it shows ----------------------------------------------------------------

    def play_at(self, instant: datetime) -> ScreenPlay | None:
        with self._lock:
            if self._dark or self._programme is None:
                return None
            return self._programme.play_at(instant)

    def _medium(self, asset_id: int) -> dict[str, Any]:
        with self._lock:
            media = (self._playing or {}).get("media") or ()
        return next((m for m in media if m.get("asset_id") == asset_id), {"asset_id": asset_id})

    def frame_png(self) -> bytes:
        """The picture on the board now, at its pixel size."""
        now = self.now()
        play = self.play_at(now)
        size = (self.identity.width, self.identity.height)
        if play is None:
            key: tuple[Any, ...] = ("dark", self.playing_version)
        else:
            medium = self._medium(play.asset_id)
            # Pictures do not change during a play; a video is shown second by second.
            second = int((now - play.start).total_seconds()) if medium.get("kind") == "video" else 0
            key = (play.asset_id, medium.get("sha256"), second)
        cached = self._frame_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        if play is None:
            image = frames.placeholder(size, self.identity.code, "no manifest" if self._playing is None else "dark")
        else:
            path = self.media_path(medium) if medium.get("ready") else None
            image = frames.render(path, str(medium.get("kind", "")), (now - play.start).total_seconds(), size,
                                  str(medium.get("name") or f"asset {play.asset_id}"))
        data = frames.png(image)
        self._frame_cache = (key, data)
        return data

    def screenshot(self) -> str:
        import base64
        import io

        from PIL import Image

        with Image.open(io.BytesIO(self.frame_png())) as image:
            image.thumbnail((480, 480))
            return base64.b64encode(frames.png(image)).decode("ascii")

    def describe(self) -> dict[str, Any]:
        now = self.now()
        play = self.play_at(now)
        with self._lock:
            pending = self._pending
            current = None
            if play is not None:
                medium = self._medium(play.asset_id)
                current = {"asset_id": play.asset_id, "campaign_id": play.campaign_id, "name": medium.get("name", ""),
                           "kind": play.kind, "rule_id": play.rule_id, "playlist_id": play.playlist_id,
                           "item_index": play.item_index, "start": iso(play.start), "end": iso(play.end)}
            return {
                "screen_id": self.identity.screen_id, "width": self.identity.width, "height": self.identity.height,
                "clock": iso(now), "speed": self.clock.speed, "playing_version": self.playing_version,
                "pending_version": int(pending["version"]) if pending else None,
                "pending_error": self._pending_error, "now_playing": current,
                "asset_id": play.asset_id if play is not None else None,
                "queue_length": len(self.queue), "unwritten_plays": len(self._unwritten),
                "recorded": {str(asset): n for asset, n in sorted(self.queue.tally().items())},
                "record_error": self._record_error, "sent": dict(self._sent), "upload_error": self._uploads.error,
                "heartbeat_error": self._heartbeats.error, "faults": self.faults.describe(),
            }

    def close(self) -> None:
        with self._lock:
            self._record_until(self.now())
        self._http.close()
        self.queue.close()


class CmsRefused(ValueError):
    """The CMS refused a call, or sent something other than what the manifest promised."""


def _reason(error: Exception) -> str:
    """A one-line reason for the board's state page: our own errors say it all already."""
    if isinstance(error, (CmsRefused, DiskFull)):
        text = str(error)
    elif isinstance(error, requests.ConnectionError):
        text = f"cannot reach the CMS at {getattr(error.request, 'url', '?')}"
    elif isinstance(error, requests.Timeout):
        text = f"no answer from the CMS at {getattr(error.request, 'url', '?')}"
    else:
        text = f"{type(error).__name__}: {error}"
    return text[:500]
