"""Playlists: a campaign's media in order, with durations; published only when every
item is approved, so nothing unapproved can reach a board."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cms.errors import ApprovalNotAllowed, NotFound, ValidationFailed
from cms.extensions import db
from cms.models import MediaAsset, Playlist, PlaylistItem
from cms.models.types import utcnow
from cms.services.audit import Actor, record
from cms.services.campaigns import get_campaign
from cms.services.units import clean_text

MAX_ITEM_SECONDS = 3600.0


def get_playlist(playlist_id: int) -> Playlist:
    playlist = db.session.get(Playlist, playlist_id)
    if playlist is None:
        raise NotFound("No playlist with id %(id)s.", code="playlist_not_found", id=playlist_id)
    return playlist


def list_playlists(campaign_id: int | None = None) -> list[Playlist]:
    query = select(Playlist).order_by(Playlist.campaign_id, Playlist.name, Playlist.id)
    if campaign_id is not None:
        query = query.where(Playlist.campaign_id == campaign_id)
    return list(db.session.scalars(query))


def create_playlist(campaign_id: int, name: str, actor: Actor) -> Playlist:
    campaign = get_campaign(campaign_id)
    name = clean_text(name)
    if not name or len(name) > 200:
        raise ValidationFailed("A playlist needs a name of 1 to 200 characters.", code="playlist_name_invalid")
    playlist = Playlist(campaign_id=campaign.id, name=name, status="draft")
    db.session.add(playlist)
    db.session.flush()
    record(actor, "playlist.create", "playlist", playlist.id, campaign_id=campaign.id, name=name)
    return playlist


def add_item(playlist: Playlist, asset_id: int, actor: Actor, duration: float | None = None) -> PlaylistItem:
    """Append a medium of the same campaign; a published playlist goes back to draft."""
    asset = db.session.get(MediaAsset, asset_id)
    if asset is None or asset.campaign_id != playlist.campaign_id:
        raise NotFound("No media %(id)s in this playlist's campaign.", code="media_not_found", id=asset_id)
    if asset.status == "archived":
        raise ValidationFailed("Archived media cannot go into a playlist.", code="playlist_item_archived")
    if duration is not None and not (0 < duration <= MAX_ITEM_SECONDS):
        raise ValidationFailed("An item lasts more than 0 and at most 3600 seconds.", code="playlist_duration_invalid")
    item = PlaylistItem(asset=asset, position=len(playlist.items), duration=duration)
    playlist.items.append(item)
    db.session.flush()
    record(actor, "playlist.add", "playlist", playlist.id, asset_id=asset.id, duration=duration)
    _back_to_draft(playlist, actor)
    return item


def remove_item(playlist: Playlist, item_id: int, actor: Actor) -> None:
    item = get_item(playlist, item_id)
    playlist.items.remove(item)
    for position, remaining in enumerate(playlist.items):
        remaining.position = position
    record(actor, "playlist.remove", "playlist", playlist.id, asset_id=item.asset_id)
    _back_to_draft(playlist, actor)


def publish(playlist: Playlist, actor: Actor) -> None:
    """Only a playlist whose every item is approved may be published."""
    if actor.role not in ("admin", "editor"):
        raise ApprovalNotAllowed("Your role cannot publish playlists.", code="playlist_forbidden")
    if not playlist.items:
        raise ValidationFailed("An empty playlist cannot be published.", code="playlist_empty")
    waiting = [item.asset.display_name for item in unapproved_items(playlist)]
    if waiting:
        raise ApprovalNotAllowed("Not approved yet: %(names)s. Only approved media can be published.",
                                 code="playlist_not_approved", names=", ".join(waiting))
    playlist.status, playlist.published_at = "published", utcnow()
    record(actor, "playlist.publish", "playlist", playlist.id, items=[i.asset_id for i in playlist.items])


def move_item(playlist: Playlist, item_id: int, step: int, actor: Actor) -> bool:
    """Move an item `step` places later (negative: earlier); False when it is already at that end."""
    item = get_item(playlist, item_id)
    old = playlist.items.index(item)
    new = min(max(old + step, 0), len(playlist.items) - 1)
    if new == old:
        return False
    order = list(playlist.items)
    order.insert(new, order.pop(old))
    for position, each in enumerate(order):
        each.position = position
    playlist.items.sort(key=lambda i: i.position)  # the collection's order, as it loads next time
    record(actor, "playlist.move", "playlist", playlist.id, asset_id=item.asset_id, before=old, after=new)
    _back_to_draft(playlist, actor)
    return True


def set_duration(playlist: Playlist, item_id: int, duration: float | None, actor: Actor) -> bool:
    """Set how long an item stays on screen; None goes back to its own length (or 10 s for pictures).
    False when nothing changed."""
    item = get_item(playlist, item_id)
    if duration is not None and not (0 < duration <= MAX_ITEM_SECONDS):
        raise ValidationFailed("An item lasts more than 0 and at most 3600 seconds.", code="playlist_duration_invalid")
    if item.duration == duration:
        return False
    before, item.duration = item.duration, duration
    record(actor, "playlist.duration", "playlist", playlist.id, asset_id=item.asset_id, before=before, after=duration)
    _back_to_draft(playlist, actor)
    return True


def unapproved_items(playlist: Playlist) -> list[PlaylistItem]:
    """The items that keep the playlist from being published."""
    return [item for item in playlist.items if item.asset.status != "approved"]


def loop_seconds(playlist: Playlist) -> float:
    return sum(item.seconds for item in playlist.items)


def publishable(playlist: Playlist) -> bool:
    return bool(playlist.items) and not unapproved_items(playlist)


def describe_playlist(playlist: Playlist) -> dict[str, Any]:
    return {
        "id": playlist.id, "campaign_id": playlist.campaign_id, "name": playlist.name, "status": playlist.status,
        "published_at": playlist.published_at.isoformat() if playlist.published_at else None,
        "loop_seconds": round(loop_seconds(playlist), 3), "publishable": publishable(playlist),
        "items": [{"id": i.id, "position": i.position, "asset_id": i.asset_id, "display_name": i.asset.display_name,
                   "kind": i.asset.kind, "asset_status": i.asset.status, "duration": i.duration,
                   "seconds": round(i.seconds, 3)} for i in playlist.items],
    }


def get_item(playlist: Playlist, item_id: int) -> PlaylistItem:
    """The playlist's item with this id; NotFound when it has none."""
    item = next((i for i in playlist.items if i.id == item_id), None)
    if item is None:
        raise NotFound("No item %(id)s in this playlist.", code="playlist_item_not_found", id=item_id)
    return item


def _back_to_draft(playlist: Playlist, actor: Actor) -> None:
    """A changed playlist is not what was published: it is published again after a check."""
    if playlist.status == "published":
        playlist.status = "draft"
        record(actor, "playlist.unpublish", "playlist", playlist.id, why="changed")
