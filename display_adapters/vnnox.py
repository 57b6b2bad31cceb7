"""The `novastar-vnnox` kind: NovaStar players (Taurus TB/T series...) managed through
VNNOX / the NovaCloud Open Platform.

NOT YET VERIFIED AGAINST A REAL VNNOX ACCOUNT: no account can be reached from where
this was written. The tests run it against a local fake (tests/fakes/vnnox_fake.py)
that checks what is described below.

What it follows, from NovaCloud's public API documentation (developer-en.vnnox.com:
"API Access Guide", "Common Solutions" POST /v2/player/program/normal, "Obtaining
Basic Player Information" POST /v2/player/current/online-status), read in 2026:

- every request carries `AppKey`, `Nonce` (8-64 letters or digits), `CurTime`
  (Unix seconds, within 5 minutes of the server's clock) and
  `CheckSum` = hex SHA-256 of AppSecret + Nonce + CurTime; 401 means refused
  credentials, 429 too many calls (15/s, 1500/h per IP), 5xx the cloud's trouble;
- `POST /v2/player/program/normal` with `{"playerIds": [...], "schedule":
  {"startDate", "endDate", "plans": [{"weekDays": [0-6, 0 = Sunday], "startTime",
  "endTime"}]}, "pages": [{"name", "schedules"?, "widgets": [{"type": "PICTURE" |
  "VIDEO", "zIndex", "url", "md5", "size", "duration" (ms), "layout": {"x", "y",
  "width", "height"} in %, "inAnimation"?}]}]}` replaces the player's program and
  answers `{"success": [player ids], "fail": [player ids]}`;
- `POST /v2/player/current/online-status` with `{"playerIds": [...]}` answers
  `[{"playerId", "sn", "onlineStatus": 0 | 1, "lastOnlineTime"}]`.

How a manifest becomes a program: every item of every playlist the manifest's
segments name becomes a page holding one full-screen widget (pages play one after
another; one widget per page is how other integrations get sequential playback).
Each page gets `schedules` for the local dates and times its playlist's segments
cover; the documentation lists `schedules` on a page but not its fields, which are
read here as the same {startDate, endDate, plans} as the program's schedule: an
inference, the first thing to check against a real account. A segment's starting
item (`first_item`) cannot be expressed and is dropped.

Media: VNNOX's player downloads each widget's `url` itself, so it must be an
absolute URL the player can reach without Panoled's board credentials. The option
`media_base_url` gives it: either a prefix to which the manifest's media path is
appended, or a template with {asset_id}, {sha256}, {revision} or {path}
(e.g. `https://cdn.example.vn/panoled/{sha256}`). A media entry that already
carries an absolute `url` is used as it is. VNNOX wants each file's MD5, which
manifests do not carry, so the driver reads each file once from that URL (the same
URL the player will use, so an unreachable one fails the push early) and keeps
the MD5 by sha256. Video widgets are sent without codec or frame-rate fields.

VNNOX has no notion of Panoled's manifest versions and cannot be asked which one a
player holds: the driver remembers, in this process, the newest version it handed
each player and refuses an older one as a controller would. After a restart that
memory is empty and the scheduler's own ordering (it only ever pushes a board's
newest version) is the guard.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests

from display_adapters.base import (N_, AdapterOptionsInvalid, BoardStatus, DisplayAdapter, PushResult, Rejected,
                                   RetryLater, check_http_url)

# Public service domains seen in NovaCloud's documentation and examples; any other
# node is reached by setting `base_url`.
REGIONS = {"us": "https://open-us.vnnox.com", "in": "https://open-in.vnnox.com"}
DEFAULT_REGION = "us"
PROGRAM_PATH = "/v2/player/program/normal"
ONLINE_STATUS_PATH = "/v2/player/current/online-status"
PICTURE_KINDS = {"poster", "banner", "image"}
FULL_SCREEN = {"x": "0%", "y": "0%", "width": "100%", "height": "100%"}


def checksum(app_secret: str, nonce: str, cur_time: str) -> str:
    return hashlib.sha256(f"{app_secret}{nonce}{cur_time}".encode()).hexdigest()


def auth_headers(app_key: str, app_secret: str, now: float | None = None, nonce: str | None = None) -> dict[str, str]:
    nonce = nonce or secrets.token_hex(16)
    cur_time = str(int(time.time() if now is None else now))
    return {"AppKey": app_key, "Nonce": nonce, "CurTime": cur_time, "CheckSum": checksum(app_secret, nonce, cur_time)}


class _Memory:
    """The newest manifest version handed to each player from this process, and file MD5s by sha256."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.versions: dict[tuple[str, str], int] = {}
        self.md5: dict[str, tuple[str, int]] = {}


MEMORY = _Memory()


class VnnoxAdapter(DisplayAdapter):
    kind = "novastar-vnnox"
    description = N_("NovaStar VNNOX / NovaCloud player")
    required_options = ("app_key", "app_secret", "player_id")
    optional_options = ("region", "base_url", "media_base_url")
    secret_options = frozenset({"app_secret"})
    capabilities = frozenset({"push", "status"})
    calls_in = False  # a NovaStar player talks to VNNOX, never to Panoled

    @classmethod
    def check_options(cls, options: Mapping[str, str]) -> None:
        super().check_options(options)
        check_http_url(options, "base_url")
        if "{" not in options.get("media_base_url", ""):
            check_http_url(options, "media_base_url")
        region = options.get("region")
        if region and region not in REGIONS and not options.get("base_url"):
            raise AdapterOptionsInvalid("adapter_option_invalid", "%(key)s must be one of %(values)s.",
                                        key="region", values=", ".join(sorted(REGIONS)))

    @property
    def base_url(self) -> str:
        options = self.board.options
        return (options.get("base_url") or REGIONS[options.get("region") or DEFAULT_REGION]).rstrip("/")

    @property
    def player_id(self) -> str:
        return self.board.options["player_id"]

    def push_manifest(self, manifest: Mapping[str, Any]) -> PushResult:
        version = manifest.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise Rejected(f"manifest version must be a positive whole number, got {version!r}")
        key = (self.base_url, self.player_id)
        with MEMORY.lock:
            held = MEMORY.versions.get(key, 0)
        if version < held:
            return PushResult(False, held, f"version {held} was already handed to this player; refuses {version}")
        program = self.program(manifest)
        answer = self._call(PROGRAM_PATH, program)
        failed = answer.get("fail") if isinstance(answer, dict) else None
        succeeded = answer.get("success") if isinstance(answer, dict) else None
        if isinstance(failed, list) and self.player_id in failed:
            raise RetryLater(f"VNNOX could not hand the program to player {self.player_id} (offline or unbound)")
        if not (isinstance(succeeded, list) and self.player_id in succeeded):
            raise RetryLater(f"VNNOX did not confirm player {self.player_id}: {json.dumps(answer)[:200]}")
        with MEMORY.lock:
            MEMORY.versions[key] = max(version, MEMORY.versions.get(key, 0))
            current = MEMORY.versions[key]
        return PushResult(True, current)

    def fetch_status(self) -> BoardStatus:
        try:
            answer = self._call(ONLINE_STATUS_PATH, {"playerIds": [self.player_id]})
        except RetryLater as error:
            return BoardStatus(False, detail=str(error))
        rows = answer if isinstance(answer, list) else []
        row = next((r for r in rows if isinstance(r, dict) and r.get("playerId") == self.player_id), None)
        with MEMORY.lock:
            version = MEMORY.versions.get((self.base_url, self.player_id))
        if row is None:
            return BoardStatus(False, version, detail=f"VNNOX does not know player {self.player_id}")
        return BoardStatus(row.get("onlineStatus") == 1, version,
                           detail=f"last online {row.get('lastOnlineTime') or 'never'} (VNNOX)")

    # -- the program ----------------------------------------------------------

    def program(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """The body of POST /v2/player/program/normal for this manifest."""
        zone = _zone(manifest)
        media = {m["asset_id"]: m for m in manifest.get("media", ()) if m.get("ready", True)}
        items = {p["playlist_id"]: p["items"] for p in manifest.get("playlists", ())}
        windows: dict[int, list[tuple[datetime, datetime]]] = {}
        for segment in manifest.get("segments", ()):
            if segment.get("playlist_id") in items:
                windows.setdefault(segment["playlist_id"], []).append(
                    (_instant(segment["start"]).astimezone(zone), _instant(segment["end"]).astimezone(zone)))
        pages = []
        for playlist_id, spans in windows.items():
            schedules = [_schedule(start, end) for start, end in _days(spans)]
            for index, item in enumerate(items[playlist_id], start=1):
                entry = media.get(item["asset_id"])
                if entry is None:  # not rendered for this board yet: the player could not show it either
                    continue
                pages.append({"name": f"panoled-p{playlist_id}-{index}-a{item['asset_id']}", "schedules": schedules,
                              "widgets": [self._widget(entry, item["duration"])]})
        if not pages:
            raise Rejected("the manifest has nothing the player could show (no ready media in any segment)")
        valid_from = _instant(manifest["valid_from"]).astimezone(zone)
        valid_until = _instant(manifest["valid_until"]).astimezone(zone)
        return {
            "playerIds": [self.player_id],
            "schedule": {"startDate": valid_from.date().isoformat(), "endDate": valid_until.date().isoformat(),
                         "plans": [{"weekDays": list(range(7)), "startTime": "00:00:00", "endTime": "23:59:59"}]},
            "pages": pages,
        }

    def _widget(self, entry: Mapping[str, Any], seconds: float) -> dict[str, Any]:
        url = self._media_url(entry)
        md5, size = self._md5(url, entry)
        return {"type": "PICTURE" if entry.get("kind") in PICTURE_KINDS else "VIDEO", "zIndex": 1, "url": url,
                "md5": md5, "size": size, "duration": int(round(float(seconds) * 1000)), "layout": dict(FULL_SCREEN),
                "inAnimation": {"type": "NONE", "duration": 0}}

    def _media_url(self, entry: Mapping[str, Any]) -> str:
        given = str(entry.get("url") or "")
        if given.startswith(("http://", "https://")):
            return given
        base = self.board.options.get("media_base_url", "")
        if not base:
            raise Rejected("VNNOX players fetch media themselves: set the option media_base_url to where they can")
        path = str(entry.get("path") or "")
        if "{" in base:
            try:
                return base.format(asset_id=entry["asset_id"], sha256=entry.get("sha256") or "",
                                   revision=entry.get("revision") or "", path=path)
            except (KeyError, IndexError, ValueError) as error:
                raise Rejected(f"media_base_url is not a usable template: {error}") from None
        return base.rstrip("/") + (path if path.startswith("/") else f"/{path}")

    def _md5(self, url: str, entry: Mapping[str, Any]) -> tuple[str, int]:
        known = entry.get("sha256")
        with MEMORY.lock:
            cached = MEMORY.md5.get(known) if known else None
        if cached is not None:
            return cached
        digest, size = hashlib.md5(usedforsecurity=False), 0
        try:
            with requests.get(url, stream=True, timeout=self.timeout, allow_redirects=False) as response:
                if response.status_code != 200:
                    raise RetryLater(f"media {url} answered {response.status_code}: the player could not fetch it either")
                for chunk in response.iter_content(1 << 20):
                    digest.update(chunk)
                    size += len(chunk)
        except requests.RequestException as error:
            raise RetryLater(f"cannot read media {url}: {type(error).__name__}") from None
        result = (digest.hexdigest(), size)
        if known:
            with MEMORY.lock:
                MEMORY.md5[known] = result
        return result

    # -- HTTP -------------------------------------------------------------------

    def _call(self, path: str, body: Mapping[str, Any]) -> Any:
        target = f"{self.base_url}{path}"
        options = self.board.options
        headers = {**auth_headers(options["app_key"], options["app_secret"]),
                   "Content-Type": "application/json; charset=utf-8"}
        try:
            response = requests.post(target, data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                                     headers=headers, timeout=self.timeout, allow_redirects=False)
        except requests.Timeout:
            raise RetryLater(f"no answer from {target} within {self.timeout:g} s", timeout=True) from None
        except requests.RequestException as error:
            raise RetryLater(f"cannot reach {target}: {type(error).__name__}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryLater(f"{target} answered {response.status_code}")
        if response.status_code in (401, 403):
            raise Rejected(f"VNNOX refused the credentials ({response.status_code})")
        if response.status_code != 200:
            raise Rejected(f"{target} answered {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise RetryLater(f"{target} answered 200 without JSON") from None


def _zone(manifest: Mapping[str, Any]) -> ZoneInfo:
    try:
        return ZoneInfo(str(manifest.get("screen", {}).get("time_zone") or "Asia/Ho_Chi_Minh"))
    except (ZoneInfoNotFoundError, ValueError):
        raise Rejected("the manifest names an unknown time zone") from None


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _days(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Local spans merged where they touch and cut at local midnight, one piece per day."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    pieces = []
    for start, end in merged:
        while start < end:
            midnight = datetime.combine(start.date() + timedelta(days=1), datetime.min.time(), start.tzinfo)
            pieces.append((start, min(end, midnight)))
            start = midnight
    return pieces


def _schedule(start: datetime, end: datetime) -> dict[str, Any]:
    day = start.date()
    last = "23:59:59" if end.date() != day else end.strftime("%H:%M:%S")
    return {"startDate": day.isoformat(), "endDate": day.isoformat(),
            "plans": [{"weekDays": [(day.weekday() + 1) % 7], "startTime": start.strftime("%H:%M:%S"), "endTime": last}]}
