"""Shared setup for tests of the board-facing API: a board with its secret, manifests, signed calls."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from display_adapters.signing import board_key, signed_headers


def new_board(client: FlaskClient, operator: dict[str, str], code: str, kind: str = "webplayer",
              width: int = 960, height: int = 320) -> tuple[int, str]:
    """A registered board: (id, secret)."""
    answer = client.post("/api/v1/screens", headers=operator, json={
        "name": f"Bảng {code}", "code": code, "width": width, "height": height, "adapter": kind,
        "group": "Vũng Tàu", "operating_hours": "00:00-24:00"})
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    return body["id"], body["secret"]


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def post_signed(client: FlaskClient, path: str, secret: str, body: Any, now: float | None = None,
                key: str | None = None) -> Any:
    raw = json.dumps(body).encode("utf-8")
    headers = bearer(secret) | {"Content-Type": "application/json"} | signed_headers(key or board_key(secret), raw, now)
    return client.post(path, data=raw, headers=headers)


def make_manifest(app: Flask, screen_id: int, version: int, asset_ids: tuple[int, ...] = (),
                  made_at: datetime | None = None) -> None:
    """A manifest version for the board, as the scheduler would have written it (newest moves up)."""
    from cms.extensions import db
    from cms.models import BoardSync, Manifest
    from cms.services.manifests import content_hash

    made_at = made_at or datetime.now(UTC)
    body = {"schema": "panoled.manifest/1", "version": version, "generated_at": made_at.isoformat(),
            "media": [{"asset_id": a, "campaign_id": 4, "kind": "poster", "name": f"m{a}.png", "ready": True,
                       "path": f"/api/v1/screens/{screen_id}/media/{a}"} for a in asset_ids],
            "playlists": [], "segments": []}
    content = {key: value for key, value in body.items() if key not in ("version", "generated_at")}
    with app.app_context():
        db.session.add(Manifest(screen_id=screen_id, version=version, content_hash=content_hash(content), valid_from=made_at,
                                valid_until=made_at + timedelta(days=2), body=body, boundaries=[], created_at=made_at))
        sync = db.session.get(BoardSync, screen_id)
        if sync is None:
            db.session.add(BoardSync(screen_id=screen_id, input_fingerprint="", latest_version=version,
                                     acknowledged_version=0, reported_version=0, failures=0, last_result="", last_error=""))
        else:
            sync.latest_version = max(sync.latest_version, version)
        db.session.commit()


def sync_of(app: Flask, screen_id: int) -> tuple[int, int, int]:
    """(latest, acknowledged, reported) versions of the board."""
    from cms.extensions import db
    from cms.models import BoardSync

    with app.app_context():
        sync = db.session.get(BoardSync, screen_id)
        return sync.latest_version, sync.acknowledged_version, sync.reported_version
