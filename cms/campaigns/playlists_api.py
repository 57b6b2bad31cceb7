"""Playlist endpoints of the REST API."""
from __future__ import annotations

from typing import Any

from cms.access import roles_required, signed_in
from cms.api import actor, api_blueprint, json_body, number_field, query_whole_number, text_field
from cms.errors import ValidationFailed
from cms.extensions import db
from cms.services import playlists as service

bp = api_blueprint("playlists_api", __name__)


@bp.get("/playlists")
@signed_in
def playlist_list() -> dict[str, Any]:
    campaign_id = query_whole_number("campaign_id")
    return {"playlists": [service.describe_playlist(p) for p in service.list_playlists(campaign_id)]}


@bp.get("/playlists/<int:playlist_id>")
@signed_in
def playlist_get(playlist_id: int) -> dict[str, Any]:
    return service.describe_playlist(service.get_playlist(playlist_id))


@bp.post("/playlists")
@roles_required("editor")
def playlist_create() -> tuple[dict[str, Any], int]:
    body = json_body()
    playlist = service.create_playlist(number_field(body, "campaign_id", whole=True, required=True), text_field(body, "name", max_length=200), actor())
    db.session.commit()
    return service.describe_playlist(playlist), 201


@bp.post("/playlists/<int:playlist_id>/items")
@roles_required("editor")
def playlist_add_item(playlist_id: int) -> tuple[dict[str, Any], int]:
    body = json_body()
    duration = number_field(body, "duration")
    playlist = service.get_playlist(playlist_id)
    asset_id = number_field(body, "asset_id", whole=True, required=True)
    service.add_item(playlist, asset_id, actor(), float(duration) if duration is not None else None)
    db.session.commit()
    return service.describe_playlist(playlist), 201


@bp.delete("/playlists/<int:playlist_id>/items/<int:item_id>")
@roles_required("editor")
def playlist_remove_item(playlist_id: int, item_id: int) -> dict[str, Any]:
    playlist = service.get_playlist(playlist_id)
    service.remove_item(playlist, item_id, actor())
    db.session.commit()
    return service.describe_playlist(playlist)


@bp.patch("/playlists/<int:playlist_id>/items/<int:item_id>")
@roles_required("editor")
def playlist_change_item(playlist_id: int, item_id: int) -> dict[str, Any]:
    """`duration` (seconds; null: the item's own length) and/or `move`: "up" or "down"."""
    body = json_body()
    playlist = service.get_playlist(playlist_id)
    service.get_item(playlist, item_id)
    if "duration" in body:
        duration = number_field(body, "duration")
        service.set_duration(playlist, item_id, float(duration) if duration is not None else None, actor())
    move = body.get("move")
    if move is not None:
        if move not in ("up", "down"):
            raise ValidationFailed("move must be \"up\" or \"down\".", code="field_invalid", key="move")
        service.move_item(playlist, item_id, -1 if move == "up" else 1, actor())
    db.session.commit()
    return service.describe_playlist(playlist)


@bp.post("/playlists/<int:playlist_id>/publish")
@roles_required("editor")
def playlist_publish(playlist_id: int) -> dict[str, Any]:
    playlist = service.get_playlist(playlist_id)
    service.publish(playlist, actor())
    db.session.commit()
    return service.describe_playlist(playlist)
