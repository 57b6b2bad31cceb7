"""A manifest shaped as the scheduler makes them, for driver tests that need one without a database."""
from __future__ import annotations

import hashlib
from typing import Any

# Two media files; their bytes matter only where a peer checks checksums.
POSTER = b"\x89PNG fake poster bytes for the contract tests " * 20
VIDEO = b"\x00\x00\x00\x18ftypmp42 fake video bytes for the contract tests " * 40


def media_entry(asset_id: int, kind: str, name: str, content: bytes) -> dict[str, Any]:
    return {"asset_id": asset_id, "campaign_id": 4, "kind": kind, "name": name, "ready": True,
            "revision": f"{asset_id + 10}.1", "sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content),
            "path": f"/api/v1/screens/1/media/{asset_id}"}


def sample_manifest(version: int) -> dict[str, Any]:
    """Board VT-01 (960x320, Vũng Tàu time) plays a poster and a videoclip 05:00-23:00 local on two days."""
    return {
        "schema": "panoled.manifest/1", "version": version, "generated_at": "2024-06-05T01:00:00Z",
        "screen": {"id": 1, "code": "VT-01", "width": 960, "height": 320, "time_zone": "Asia/Ho_Chi_Minh",
                   "operating_hours": "05:00-23:00"},
        "valid_from": "2024-06-05T00:00:00Z", "valid_until": "2024-06-07T06:00:00Z",
        "media": [media_entry(7, "poster", "Giờ Trái Đất 2024.png", POSTER),
                  media_entry(8, "video", "Ngày Môi trường thế giới.mp4", VIDEO)],
        "playlists": [{"playlist_id": 3, "items": [{"asset_id": 7, "campaign_id": 4, "duration": 10},
                                                   {"asset_id": 8, "campaign_id": 4, "duration": 15}]}],
        "segments": [
            {"start": "2024-06-04T22:00:00Z", "end": "2024-06-05T16:00:00Z", "kind": "fill", "rule_id": None,
             "playlist_id": 3, "first_item": 0, "truncated": False},
            {"start": "2024-06-05T22:00:00Z", "end": "2024-06-06T16:00:00Z", "kind": "fill", "rule_id": None,
             "playlist_id": 3, "first_item": 0, "truncated": False},
        ],
    }
