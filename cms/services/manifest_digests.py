"""What the operator's pages need of the manifests boards acknowledged, held in memory.

A manifest never changes once made, and a 48 h one is large (hundreds of segments).
The "on air now" list, the board alerts and a board's page need little of it: the
assets it names, and what plays in the next hour or so. Each process keeps that
digest per manifest (screen, version and content hash, so a restored database
cannot be served another manifest's digest), in a bounded least-recently-used
store, and reads and decodes a manifest again only when a page asks past its digest's
horizon: at most about once an hour per board.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import select, tuple_

from cms.extensions import db
from cms.models import BoardSync, Manifest

HORIZON = timedelta(hours=1)
# Boards' horizons end at different minutes, so no single page view re-reads every manifest.
HORIZON_SPREAD_STEPS, HORIZON_SPREAD_STEP = 12, timedelta(minutes=5)
MAX_HELD = 2048  # digests kept per process, about 10 KB each: two per board for 1,000 boards


class ManifestKey(NamedTuple):
    screen_id: int
    version: int
    content_hash: str


class Segment(NamedTuple):
    start: datetime
    end: datetime
    kind: str
    rule_id: int | None
    playlist_id: int | None
    first_item: int


class Item(NamedTuple):
    asset_id: int
    campaign_id: int
    duration: float


@dataclass(frozen=True)
class Digest:
    """The assets a manifest names, and what it has its board show from `covers_from`
    until `covers_until`: the segments overlapping that time, their playlists and
    the names of those playlists' media."""

    asset_ids: frozenset[int]
    covers_from: datetime
    covers_until: datetime
    segments: tuple[Segment, ...]
    playlists: dict[int, tuple[Item, ...]]
    names: dict[int, str]

    def covers(self, now: datetime) -> bool:
        return self.covers_from <= now < self.covers_until

    def playing(self, now: datetime) -> dict[str, Any] | None:
        """What the board shows at `now` (inside the covered time): the segment and the
        item, or None when it is dark."""
        for segment in self.segments:
            if not segment.start <= now < segment.end:
                continue
            found: dict[str, Any] = {"kind": segment.kind, "rule_id": segment.rule_id,
                                     "playlist_id": segment.playlist_id, "asset_id": None, "campaign_id": None,
                                     "name": ""}
            items = self.playlists.get(segment.playlist_id) if segment.playlist_id is not None else None
            if items:
                offset = (now - segment.start).total_seconds() % sum(i.duration for i in items)
                index = segment.first_item
                while offset >= items[index].duration:
                    offset -= items[index].duration
                    index = (index + 1) % len(items)
                item = items[index]
                found.update(asset_id=item.asset_id, campaign_id=item.campaign_id,
                             name=self.names.get(item.asset_id, ""))
            return found
        return None


def digest_of(body: dict[str, Any], now: datetime, horizon: timedelta = HORIZON) -> Digest:
    """The digest of a manifest body for the time from `now` to `now + horizon`."""
    until = now + horizon
    segments = []
    for raw in body.get("segments", ()):
        start, end = datetime.fromisoformat(raw["start"]), datetime.fromisoformat(raw["end"])
        if start < until and end > now:
            segments.append(Segment(start, end, raw["kind"], raw["rule_id"], raw["playlist_id"], raw["first_item"] or 0))
    wanted = {s.playlist_id for s in segments}
    playlists = {p["playlist_id"]: tuple(Item(i["asset_id"], i["campaign_id"], i["duration"]) for i in p["items"])
                 for p in body.get("playlists", ()) if p["playlist_id"] in wanted}
    shown = {item.asset_id for items in playlists.values() for item in items}
    media = body.get("media", ())
    return Digest(asset_ids=frozenset(m["asset_id"] for m in media), covers_from=now, covers_until=until,
                  segments=tuple(segments), playlists=playlists,
                  names={m["asset_id"]: m["name"] for m in media if m["asset_id"] in shown})


def horizon_of(screen_id: int) -> timedelta:
    return HORIZON + HORIZON_SPREAD_STEP * (screen_id % HORIZON_SPREAD_STEPS)


class DigestStore:
    """Digests by manifest, the least recently used dropped beyond `size`; safe across threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._held: OrderedDict[ManifestKey, Digest] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: ManifestKey) -> Digest | None:
        with self._lock:
            found = self._held.get(key)
            if found is not None:
                self._held.move_to_end(key)
            return found

    def put(self, key: ManifestKey, digest: Digest) -> None:
        with self._lock:
            self._held[key] = digest
            self._held.move_to_end(key)
            while len(self._held) > self.size:
                self._held.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._held.clear()

    def __len__(self) -> int:
        return len(self._held)


HELD = DigestStore(MAX_HELD)


def acknowledged_manifests(screen_ids: Iterable[int] | None = None) -> dict[int, ManifestKey]:
    """The manifest each board acknowledged (what it plays), by screen id; boards that
    acknowledged none are left out."""
    query = select(Manifest.screen_id, Manifest.version, Manifest.content_hash).join(
        BoardSync, (BoardSync.screen_id == Manifest.screen_id) & (BoardSync.acknowledged_version == Manifest.version))
    if screen_ids is not None:
        query = query.where(Manifest.screen_id.in_(list(screen_ids)))
    return {row.screen_id: ManifestKey(row.screen_id, row.version, row.content_hash) for row in db.session.execute(query)}


def digests(keys: Iterable[ManifestKey], now: datetime, playing: bool = True) -> dict[ManifestKey, Digest]:
    """The digests of these manifests, read and decoded (in one query) only where none is
    held, or, when `playing`, where the held one does not cover `now`."""
    found: dict[ManifestKey, Digest] = {}
    missing: list[ManifestKey] = []
    for key in keys:
        held = HELD.get(key)
        if held is not None and (not playing or held.covers(now)):
            found[key] = held
        else:
            missing.append(key)
    if missing:
        by_version = {(k.screen_id, k.version): k for k in missing}
        rows = db.session.execute(select(Manifest.screen_id, Manifest.version, Manifest.content_hash, Manifest.body)
                                  .where(tuple_(Manifest.screen_id, Manifest.version).in_(list(by_version))))
        for row in rows:
            digest = digest_of(row.body, now, horizon_of(row.screen_id))
            # Held under the content read, should a restore have replaced the manifest meanwhile.
            HELD.put(ManifestKey(row.screen_id, row.version, row.content_hash), digest)
            found[by_version[(row.screen_id, row.version)]] = digest
    return found
