"""The REST endpoints the boards themselves call, authenticated by the board's own secret
(see cms.access.board_only): their manifest, its media, heartbeats and playback logs.

`GET …/manifest` answers with an ETag `"v<version>"`; a board that sends it back in
`If-None-Match` with `?wait=N` (up to 25 s) is answered as soon as a newer version
is made, or with 304 when none came. Answers carry the board's HMAC signature over
the body, and POST bodies must carry it too.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, g, request

from cms.access import board_only
from cms.api import api_blueprint, json_body, number_field
from cms.assets.views import send_stored_file
from cms.errors import ValidationFailed
from cms.extensions import db
from cms.models import Screen
from cms.services import board_feed
from cms.services.board_health import Heartbeat, decode_screenshot, record_heartbeat
from cms.services.playback import EARLIEST, LATEST, SignedBatch, ingest_plays, parse_plays
from display_adapters.signing import SIGNATURE_HEADER, signed_headers

bp = api_blueprint("board_api", __name__)


def _board() -> Screen:
    """The calling board in full (cms.access checked its secret, which names an existing board)."""
    return db.session.get_one(Screen, g.board.id)


def _signed(response: Response) -> Response:
    if g.board.signing_key:
        response.headers.update(signed_headers(g.board.signing_key, response.get_data()))
    return response


def _wait_seconds() -> float:
    text = request.args.get("wait", "0")
    try:
        wait = float(text)
    except ValueError:
        wait = -1.0
    if not 0 <= wait <= board_feed.MAX_WAIT_SECONDS:
        raise ValidationFailed("wait is a number of seconds from 0 to 25.", code="field_invalid", key="wait")
    return wait


@bp.get("/screens/<int:screen_id>/manifest")
@board_only
def board_manifest(screen_id: int) -> Response:
    wait = _wait_seconds()
    version = board_feed.newest_version(screen_id)
    if wait and (version == 0 or request.if_none_match.contains_weak(f"v{version}")):
        version = board_feed.wait_for_change(screen_id, version, wait)
    etag = f"v{version}"
    if version and request.if_none_match.contains_weak(etag):
        response = Response(status=304)
    else:
        response = Response(board_feed.manifest_document(screen_id, version), mimetype="application/json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache"
    return _signed(response)


@bp.get("/screens/<int:screen_id>/media/<int:asset_id>")
@board_only
def board_media(screen_id: int, asset_id: int) -> Response:
    found = board_feed.media_for_board(_board(), asset_id, current_app.config["PANOLED"])
    return send_stored_file(found.path, found.download_name, etag=found.sha256 or True)


def _instant(body: dict[str, Any], key: str) -> datetime | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 40 else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or not EARLIEST <= moment <= LATEST:
        raise ValidationFailed("%(key)s must be an ISO 8601 time with its offset.", code="field_invalid", key=key)
    return moment


@bp.post("/screens/<int:screen_id>/heartbeat")
@board_only
def board_heartbeat(screen_id: int) -> dict[str, Any]:
    body = json_body()
    beat = Heartbeat(version=number_field(body, "version", whole=True), asset_id=number_field(body, "asset_id", whole=True),
                     at=_instant(body, "at"), screenshot=decode_screenshot(body.get("screenshot")))
    for key, value in (("version", beat.version), ("asset_id", beat.asset_id)):
        if value is not None and not 0 <= value < 2**31:
            raise ValidationFailed("%(key)s is out of range.", code="field_invalid", key=key)
    return record_heartbeat(_board(), beat, current_app.config["PANOLED"], datetime.now(UTC))


@bp.post("/screens/<int:screen_id>/playlogs")
@board_only
def board_playlogs(screen_id: int) -> dict[str, Any]:
    batch = SignedBatch(g.board_signed_at, request.headers[SIGNATURE_HEADER].strip(), g.board.signing_key,
                        request.get_data(cache=True))  # checked by cms.access before the view
    result = ingest_plays(_board(), parse_plays(json_body()), datetime.now(UTC), batch)
    return {"new": result.new, "duplicates": result.duplicates}
