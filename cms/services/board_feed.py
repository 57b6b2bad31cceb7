"""What a board fetches: its newest manifest (waiting for a new one when asked) and
the media files its manifests name, in the rendition made for its size."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Text, cast, func, select

from cms.config import Config
from cms.errors import NotFound
from cms.extensions import db
from cms.models import BoardSync, Manifest, MediaAsset, Screen
from cms.services import media as media_service
from cms.services.manifests import profile_key

MAX_WAIT_SECONDS = 25.0
POLL_SECONDS = 0.5


def newest_version(screen_id: int) -> int:
    """The board's newest manifest version; 0 before it has any."""
    return db.session.scalar(select(func.max(Manifest.version)).where(Manifest.screen_id == screen_id)) or 0


def wait_for_change(screen_id: int, version: int, seconds: float, poll: float = POLL_SECONDS,
                    sleep: Callable[[float], None] = time.sleep,
                    monotonic: Callable[[], float] = time.monotonic) -> int:
    """The newest version, as soon as it differs from `version` or `seconds` (at most 25) have passed.

    Between looks the session's transaction ends, so each look sees what the scheduler
    committed meanwhile and no database connection is held while waiting."""
    deadline = monotonic() + min(max(seconds, 0.0), MAX_WAIT_SECONDS)
    while True:
        db.session.rollback()
        current = newest_version(screen_id)
        left = deadline - monotonic()
        if current != version or left <= 0:
            return current
        sleep(min(poll, left))


def manifest_document(screen_id: int, version: int) -> bytes:
    """The manifest as the board receives it: the JSON bytes that the response signature covers,
    as the database holds them (a 48 h manifest of a busy board is over 100 KB: it is neither
    decoded nor encoded again on its way out)."""
    text = db.session.scalar(select(cast(Manifest.body, Text))
                             .where(Manifest.screen_id == screen_id, Manifest.version == version))
    if text is None:
        raise NotFound("This board has no manifest yet.", code="manifest_not_found")
    return text.encode("utf-8")


def _playable_assets(screen_id: int) -> set[int]:
    """Assets named by the board's newest manifest or the one it acknowledged (what it may still play)."""
    acknowledged = db.session.scalar(select(BoardSync.acknowledged_version).where(BoardSync.screen_id == screen_id)) or 0
    versions = {newest_version(screen_id), acknowledged} - {0}
    bodies = db.session.scalars(select(Manifest.body).where(Manifest.screen_id == screen_id, Manifest.version.in_(versions)))
    return {item["asset_id"] for body in bodies for item in body.get("media", ())}


@dataclass(frozen=True)
class MediaFile:
    path: Path
    sha256: str | None
    download_name: str


def media_for_board(screen: Screen, asset_id: int, config: Config) -> MediaFile:
    """The rendition of an asset for the board's size, only when one of its manifests names the asset."""
    asset = db.session.get(MediaAsset, asset_id) if asset_id in _playable_assets(screen.id) else None
    if asset is None:
        raise NotFound("No media %(asset_id)s in this board's manifests.", code="media_not_in_manifest", asset_id=asset_id)
    key = profile_key(screen)
    path = media_service.file_path(asset, config, "rendition", key)
    if path is None or not path.is_file():
        raise NotFound("The media %(asset_id)s has no rendition for this board yet.", code="rendition_not_ready",
                       asset_id=asset_id)
    derivative = asset.derivative("rendition", key)
    sha256 = (derivative.notes or {}).get("sha256") if derivative is not None else None
    return MediaFile(path, sha256, f"{asset_id}-{key}{path.suffix}")
