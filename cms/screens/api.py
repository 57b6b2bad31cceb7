"""Board endpoints of the REST API."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app

from cms.access import roles_required, signed_in
from cms.api import actor, api_blueprint, json_body, number_field, text_field
from cms.errors import ValidationFailed
from cms.extensions import db
from cms.services.derivatives import queue_missing
from cms.services.screens import (ScreenInput, create_screen, describe_screen, get_screen, list_screens, parse_hours,
                                  rotate_secret, update_screen)
from cms.services.timelines import describe_timeline, parse_instant, timeline_for

bp = api_blueprint("screens_api", __name__)


@bp.get("/screens")
@signed_in
def screen_list() -> dict[str, Any]:
    return {"screens": [describe_screen(s) for s in list_screens()]}


@bp.get("/screens/<int:screen_id>")
@signed_in
def screen_get(screen_id: int) -> dict[str, Any]:
    return describe_screen(get_screen(screen_id))


def _input(body: dict[str, Any], current: dict[str, Any] | None = None) -> ScreenInput:
    """A board's fields from a request body; those it leaves out keep `current` (an edit) or the defaults."""
    was = current or {}
    kind = text_field(body, "adapter", was.get("adapter", ""), max_length=40)
    given = body.get("adapter_options")
    if given is not None and not isinstance(given, dict):
        raise ValidationFailed("adapter_options must be an object.", code="field_invalid", key="adapter_options")
    # Options given are set over the stored ones, and null removes one; a new kind starts from none.
    options = dict(was.get("adapter_options") or {}) if kind == was.get("adapter") else {}
    for key, value in (given or {}).items():
        if value is None:
            options.pop(str(key), None)
        else:
            options[str(key)] = str(value)
    opens_at, closes_at = parse_hours(text_field(body, "operating_hours", was.get("operating_hours", "05:30-22:00"), 20))

    def place(key: str) -> float | None:  # null clears a coordinate in an edit
        return number_field(body, key, None if key in body else was.get(key))

    return ScreenInput(
        name=text_field(body, "name", was.get("name", ""), max_length=200),
        width=number_field(body, "width", was.get("width", 0), True), height=number_field(body, "height", was.get("height", 0), True),
        adapter_kind=kind, adapter_options=options, code=text_field(body, "code", was.get("code", ""), max_length=40),
        address=text_field(body, "address", was.get("address", ""), max_length=500), latitude=place("latitude"),
        longitude=place("longitude"), group_name=text_field(body, "group", was.get("group") or "", max_length=200),
        pixel_pitch_mm=number_field(body, "pixel_pitch_mm", was.get("pixel_pitch_mm", 10.0)),
        viewing_distance_m=number_field(body, "viewing_distance_m", was.get("viewing_distance_m", 50.0)),
        opens_at=opens_at, closes_at=closes_at, timezone=text_field(body, "timezone", was.get("timezone", "Asia/Ho_Chi_Minh"), 64),
    )


@bp.post("/screens")
@roles_required("operator")
def screen_create() -> tuple[dict[str, Any], int]:
    screen, secret = create_screen(_input(json_body()), actor())
    db.session.commit()
    queue_missing(current_app.config["PANOLED"])  # a board of a new size needs renditions
    return describe_screen(screen) | {"secret": secret}, 201



# Set elsewhere: the fallback has its own call (editors), the secret is made, never given.
NOT_EDITABLE = {"id", "fallback_playlist_id", "secret"}


@bp.patch("/screens/<int:screen_id>")
@roles_required("operator")
def screen_update(screen_id: int) -> dict[str, Any]:
    screen = get_screen(screen_id)
    body = json_body()
    current = describe_screen(screen)
    refused = (set(body) - set(current)) | (NOT_EDITABLE & set(body))
    if refused:
        raise ValidationFailed("These fields cannot be set here: %(keys)s.", code="field_invalid", keys=", ".join(sorted(refused)))
    active = body.get("active")
    if active is not None and not isinstance(active, bool):
        raise ValidationFailed("%(key)s must be true or false.", code="field_invalid", key="active")
    changes = update_screen(screen, _input(body, current), actor(), active=active)
    db.session.commit()
    if {"width", "height"} & set(changes):
        queue_missing(current_app.config["PANOLED"])  # a board of a new size needs renditions
    return describe_screen(screen) | {"changes": changes}


@bp.post("/screens/<int:screen_id>/secret")
@roles_required("operator")
def screen_rotate_secret(screen_id: int) -> dict[str, Any]:
    screen = get_screen(screen_id)
    secret = rotate_secret(screen, actor())
    db.session.commit()
    return {"id": screen.id, "secret": secret}


@bp.get("/screens/<int:screen_id>/timeline")
@signed_in
def screen_timeline(screen_id: int) -> dict[str, Any]:
    from flask import request

    screen = get_screen(screen_id)
    start = parse_instant(request.args.get("from", ""), screen.timezone)
    end = parse_instant(request.args.get("to", ""), screen.timezone)
    return describe_timeline(timeline_for(screen, start, end), screen.timezone)


@bp.put("/screens/<int:screen_id>/fallback")
@roles_required("editor")
def screen_set_fallback(screen_id: int) -> dict[str, Any]:
    from cms.services.screens import set_fallback

    screen = get_screen(screen_id)
    body = json_body()
    if "playlist_id" not in body:
        raise ValidationFailed("Give playlist_id (null for none).", code="field_required", key="playlist_id")
    value = body["playlist_id"]
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValidationFailed("playlist_id must be a whole number or null.", code="field_invalid", key="playlist_id")
    set_fallback(screen, value, actor())
    db.session.commit()
    return describe_screen(screen)


@bp.get("/screens/status")
@signed_in
def screen_status() -> dict[str, Any]:
    """Every board: its newest manifest, what it acknowledged, its last push, what it shows now."""
    from cms.services.board_health import with_health
    from cms.services.manifests import on_air

    now = datetime.now(UTC)
    return {"boards": with_health(on_air(now), current_app.config["PANOLED"].boards, now)}


@bp.get("/screens/alerts")
@signed_in
def screen_alerts() -> dict[str, Any]:
    """Boards an operator should look at: offline, not taking their newest manifest, showing something unexpected."""
    from cms.services.board_health import board_alerts, describe_alert

    alerts = board_alerts(current_app.config["PANOLED"].boards, datetime.now(UTC))
    return {"alerts": [describe_alert(a) for a in alerts]}
