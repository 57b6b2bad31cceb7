"""Media assets: uploads (all or nothing), generated banners, fit, approval, and files.

An upload streams to a temporary file inside the media store, is inspected by
content, and becomes an asset only if it passes; otherwise nothing is left. The
same file twice in a campaign returns the existing asset. Derivatives are queued
here and made by cms.services.derivatives outside the request.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cms.config import Config
from cms.errors import ApprovalNotAllowed, MediaNotAccepted, NotFound, ValidationFailed
from cms.extensions import db
from cms.models import Campaign, MediaAsset, MediaDerivative
from cms.models.media import revision_of
from cms.models.types import utcnow
from cms.services.audit import Actor, record
from media.errors import MediaRejected
from media.images import parse_colour
from media.storage import SUFFIX_FOR_FORMAT, LocalStorage
from media.types import FIT_MODES, BannerSpec, BoardProfile, Fit, Limits, MediaInfo, ReceivedUpload
from media.validation import inspect, safe_display_name, safe_display_text

# (from, to) -> roles besides admin. Approving has one more rule: not your own upload.
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    ("draft", "pending"): frozenset({"editor"}),
    ("rejected", "pending"): frozenset({"editor"}),
    ("pending", "approved"): frozenset({"approver"}),
    ("pending", "rejected"): frozenset({"approver"}),
    ("pending", "draft"): frozenset({"editor"}),
    ("draft", "archived"): frozenset({"editor", "approver"}),
    ("approved", "archived"): frozenset({"editor", "approver"}),
    ("rejected", "archived"): frozenset({"editor", "approver"}),
    ("archived", "draft"): frozenset({"editor"}),
}


@dataclass(frozen=True)
class Upload:
    asset: MediaAsset
    created: bool  # False: the same file was already in this campaign


def storage(config: Config) -> LocalStorage:
    return LocalStorage(config.data_dir / "media")


def limits(config: Config) -> Limits:
    return Limits(
        max_image_bytes=config.media.max_image_mb * 1024 * 1024,
        max_video_bytes=config.media.max_video_mb * 1024 * 1024,
        max_video_seconds=config.media.max_video_minutes * 60,
    )


# Banners have no file: their thumbnail is drawn on this canvas, then shrunk.
BANNER_THUMBNAIL_BOARD = BoardProfile("thumbnail", "thumbnail", 960, 540, 10.0, 50.0)


def profiles(config: Config) -> list[BoardProfile]:
    """Board sizes renditions are made for: the configured profiles, and the size of
    every registered board (keyed WIDTHxHEIGHT; a configured profile of that key wins)."""
    from cms.models import Screen

    made = [BoardProfile(p.key, p.name, p.width, p.height, p.pixel_pitch_mm, p.viewing_distance_m)
            for p in config.board_profiles]
    keys = {p.key for p in made}
    for screen in db.session.scalars(select(Screen).where(Screen.active.is_(True)).order_by(Screen.id)):
        key = f"{screen.width}x{screen.height}"
        if key not in keys:
            keys.add(key)
            made.append(BoardProfile(key, screen.name, screen.width, screen.height, screen.pixel_pitch_mm,
                                     screen.viewing_distance_m))
    return made


def max_upload_bytes(config: Config) -> int:
    return max(config.media.max_image_mb, config.media.max_video_mb) * 1024 * 1024


def get_asset(asset_id: int) -> MediaAsset:
    asset = db.session.get(MediaAsset, asset_id)
    if asset is None:
        raise NotFound("No media with id %(id)s.", code="media_not_found", id=asset_id)
    return asset


def list_assets(campaign_id: int | None = None, status: str | None = None) -> list[MediaAsset]:
    query = select(MediaAsset).order_by(MediaAsset.created_at.desc(), MediaAsset.id.desc())
    if campaign_id is not None:
        query = query.where(MediaAsset.campaign_id == campaign_id)
    if status is not None:
        query = query.where(MediaAsset.status == status)
    return list(db.session.scalars(query))


def add_upload(stream: BinaryIO, filename: str, campaign_id: int, actor: Actor, config: Config,
               as_banner: bool = False) -> Upload:
    """Store an uploaded file as a new draft asset, or return the campaign's copy of it.

    Commits: the file and its row are one unit, so a failure removes the file.
    """
    campaign = _campaign(campaign_id)
    store = storage(config)
    received, info = _receive(store, stream, filename, config)
    existing = db.session.scalar(select(MediaAsset).where(MediaAsset.campaign_id == campaign.id, MediaAsset.sha256 == received.sha256))
    if existing is not None:
        store.discard(received)
        return Upload(existing, created=False)
    stored = store.commit(received, SUFFIX_FOR_FORMAT[info.format])
    key = stored.key
    try:
        asset = MediaAsset(
            campaign_id=campaign.id, kind="video" if info.kind == "video" else ("banner" if as_banner else "poster"),
            display_name=safe_display_name(filename), storage_key=key, sha256=stored.sha256, size=stored.size,
            mime=info.mime, format=info.format, width=info.width, height=info.height, duration=info.duration,
            fps=info.fps, video_codec=info.video_codec, audio_codec=info.audio_codec, status="draft",
            uploaded_by_id=actor.user_id, uploaded_by_label=actor.label,
        )
        db.session.add(asset)
        db.session.flush()
        queue_derivatives(asset, config)
        record(actor, "media.upload", "media", asset.id, campaign_id=campaign.id, name=asset.display_name,
               kind=asset.kind, size=asset.size, sha256=asset.sha256)
        db.session.commit()
    except IntegrityError:
        # The same file arrived twice at the same moment: the other request stored it.
        db.session.rollback()
        store.delete(key)
        existing = db.session.scalar(select(MediaAsset).where(MediaAsset.campaign_id == campaign_id, MediaAsset.sha256 == stored.sha256))
        if existing is None:
            raise
        return Upload(existing, created=False)
    except Exception:
        db.session.rollback()
        store.delete(key)
        raise
    return Upload(asset, created=True)


def add_banner(spec: BannerSpec, campaign_id: int, actor: Actor, config: Config) -> Upload:
    """A generated text banner: no file of its own, one rendering per board size."""
    campaign = _campaign(campaign_id)
    title, body = " ".join(spec.title.split()), spec.body.strip()
    if not title:
        raise ValidationFailed("A banner needs a title.", code="media_banner_empty")
    for colour in (spec.text_color, spec.background_color):
        _check_colour(colour)
    data = {"title": title, "body": body, "text_color": spec.text_color.upper(), "background_color": spec.background_color.upper()}
    _check_banner_fits(BannerSpec(**data), config)
    digest = hashlib.sha256(json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()
    existing = db.session.scalar(select(MediaAsset).where(MediaAsset.campaign_id == campaign.id, MediaAsset.sha256 == digest))
    if existing is not None:
        return Upload(existing, created=False)
    asset = MediaAsset(campaign_id=campaign.id, kind="banner", display_name=safe_display_text(title), sha256=digest,
                       mime="image/png", format="png", banner=data, status="draft",
                       uploaded_by_id=actor.user_id, uploaded_by_label=actor.label)
    db.session.add(asset)
    db.session.flush()
    queue_derivatives(asset, config)
    record(actor, "media.banner", "media", asset.id, campaign_id=campaign.id, title=title)
    return Upload(asset, created=True)


def queue_derivatives(asset: MediaAsset, config: Config, renditions_only: bool = False, missing_only: bool = False) -> int:
    """Make sure the asset has a thumbnail and a rendition per board size, and (re)queue
    them; with `missing_only`, only add those it lacks. Returns how many were queued."""
    wanted = [("rendition", p.key, p.width, p.height) for p in profiles(config)]
    if not renditions_only:
        wanted.insert(0, ("thumbnail", "", 0, 0))
    queued = 0
    for kind, key, width, height in wanted:
        derivative = asset.derivative(kind, key)
        if derivative is None:
            derivative = MediaDerivative(kind=kind, profile_key=key, width=width, height=height, generation=0)
            asset.derivatives.append(derivative)
        elif missing_only:
            continue
        queued += 1
        derivative.state, derivative.progress, derivative.error, derivative.attempts = "pending", 0.0, "", 0
        derivative.generation = (derivative.generation or 0) + 1
        derivative.notes = {}
    return queued


def set_fit(asset: MediaAsset, mode: str, focal_x: float, focal_y: float, background: str, actor: Actor,
            config: Config) -> bool:
    """Change how the asset is placed on boards; renditions are remade and an approval
    is needed again. Returns whether anything changed."""
    if mode not in FIT_MODES:
        raise ValidationFailed("Unknown fit %(mode)s.", code="media_bad_fit", mode=mode)
    if not (0.0 <= focal_x <= 1.0 and 0.0 <= focal_y <= 1.0):
        raise ValidationFailed("The focal point must lie inside the picture.", code="media_bad_focal_point")
    _check_colour(background)
    before = (asset.fit_mode, round(asset.focal_x, 4), round(asset.focal_y, 4), asset.background.upper())
    after = (mode, round(focal_x, 4), round(focal_y, 4), background.upper())
    if before == after:
        return False
    asset.fit_mode, asset.focal_x, asset.focal_y, asset.background = after
    asset.changed_by_id = actor.user_id
    queue_derivatives(asset, config, renditions_only=True)
    record(actor, "media.fit", "media", asset.id, before=list(before), after=list(after))
    _back_to_review(asset, actor, "fit changed")
    return True


def replace_file(asset: MediaAsset, stream: BinaryIO, filename: str, actor: Actor, config: Config) -> None:
    """A new file for the same asset: validated like an upload, then reviewed again. Commits."""
    if asset.storage_key is None:
        raise ValidationFailed("A generated banner has no file to replace; edit its text instead.", code="media_not_a_file")
    store = storage(config)

    def same_kind_and_new(received: ReceivedUpload, info: MediaInfo) -> None:
        if (info.kind == "video") != (asset.kind == "video"):
            raise MediaRejected("media_kind_changed", "A video can only be replaced by a video, and a picture by a picture.")
        twin = db.session.scalar(select(MediaAsset.id).where(MediaAsset.campaign_id == asset.campaign_id,
                                                             MediaAsset.sha256 == received.sha256, MediaAsset.id != asset.id))
        if twin is not None:
            raise MediaRejected("media_duplicate", "This file is already in the campaign as media %(id)s.", id=twin)

    received, info = _receive(store, stream, filename, config, same_kind_and_new)
    old_key = asset.storage_key
    stored = store.commit(received, SUFFIX_FOR_FORMAT[info.format])
    key = stored.key
    try:
        asset.storage_key, asset.sha256, asset.size = key, stored.sha256, stored.size
        asset.mime, asset.format, asset.width, asset.height = info.mime, info.format, info.width, info.height
        asset.duration, asset.fps, asset.video_codec, asset.audio_codec = info.duration, info.fps, info.video_codec, info.audio_codec
        asset.display_name = safe_display_name(filename)
        asset.changed_by_id = actor.user_id
        queue_derivatives(asset, config)
        record(actor, "media.replace", "media", asset.id, name=asset.display_name, sha256=stored.sha256)
        _back_to_review(asset, actor, "file replaced")
        db.session.commit()
    except Exception:
        db.session.rollback()
        store.delete(key)
        raise
    store.delete(old_key)


def set_alt_text(asset: MediaAsset, text: str, actor: Actor) -> None:
    text = " ".join(text.split())
    if text != asset.alt_text:
        record(actor, "media.alt_text", "media", asset.id, before=asset.alt_text, after=text)
        asset.alt_text = text


def allowed_transitions(asset: MediaAsset, actor: Actor) -> list[str]:
    return [to for (frm, to), roles in TRANSITIONS.items()
            if frm == asset.status and (actor.role == "admin" or actor.role in roles) and not _own_approval(asset, actor, to)]


def transition(asset: MediaAsset, to_status: str, actor: Actor, reason: str = "", seen: str | None = None) -> None:
    """Move the asset; `seen` is the revision the person looked at (pages and API send it),
    so a file or crop changed in between is never approved unseen."""
    roles = TRANSITIONS.get((asset.status, to_status))
    if roles is None:
        raise ApprovalNotAllowed("Media cannot go from %(from)s to %(to)s.", **{"from": asset.status, "to": to_status})
    if actor.role != "admin" and actor.role not in roles:
        raise ApprovalNotAllowed("Your role cannot move media from %(from)s to %(to)s.", code="approval_forbidden",
                                 **{"from": asset.status, "to": to_status})
    if _own_approval(asset, actor, to_status):
        raise ApprovalNotAllowed("Nobody approves their own upload; another approver must review it.", code="approval_own_upload")
    if to_status == "approved":
        if seen is not None and seen != revision_of(asset):
            raise ApprovalNotAllowed("The media changed since you opened it; look at it again before approving.",
                                     code="approval_stale")
        if any(d.state != "done" for d in asset.derivatives):
            raise ApprovalNotAllowed("The renditions for the boards are not all made yet; approve when you can see them.",
                                     code="approval_renditions_pending")
    reason = reason.strip()
    if to_status == "rejected" and not reason:
        raise ValidationFailed("Say why the media is rejected.", code="media_reason_required")
    record(actor, "media.status", "media", asset.id, before=asset.status, after=to_status, reason=reason[:2000])
    if to_status in ("approved", "rejected"):
        asset.reviewed_by_id, asset.reviewed_at = actor.user_id, utcnow()
    asset.rejection_reason = reason[:2000] if to_status == "rejected" else ""
    asset.status = to_status


def describe_asset(asset: MediaAsset) -> dict[str, Any]:
    return {
        "id": asset.id, "campaign_id": asset.campaign_id, "kind": asset.kind, "display_name": asset.display_name,
        "status": asset.status, "rejection_reason": asset.rejection_reason or None, "sha256": asset.sha256,
        "size": asset.size, "mime": asset.mime, "format": asset.format, "width": asset.width, "height": asset.height,
        "duration": asset.duration, "fps": asset.fps, "video_codec": asset.video_codec, "audio_codec": asset.audio_codec,
        "fit": {"mode": asset.fit_mode, "focal_x": asset.focal_x, "focal_y": asset.focal_y, "background": asset.background},
        "banner": asset.banner, "alt_text": asset.alt_text, "uploaded_by": asset.uploaded_by_label,
        "revision": revision_of(asset),
        "created_at": asset.created_at.isoformat() if asset.created_at else None,
        "derivatives": [
            {"kind": d.kind, "profile_key": d.profile_key or None, "width": d.width, "height": d.height, "state": d.state,
             "progress": round(d.progress, 3), "error": d.error or None, "notes": d.notes or {}}
            for d in asset.derivatives
        ],
    }


def fit_of(asset: MediaAsset) -> Fit:
    return Fit(mode=asset.fit_mode, focal_x=asset.focal_x, focal_y=asset.focal_y, background=asset.background)


def file_path(asset: MediaAsset, config: Config, what: str = "original", profile_key: str = "") -> Path | None:
    """The stored file behind an asset (original, thumbnail, rendition or preview), if made."""
    store = storage(config)
    if what == "original":
        key = asset.storage_key
    else:
        derivative = asset.derivative("thumbnail" if what == "thumbnail" else "rendition", profile_key)
        if derivative is None or derivative.state != "done":
            return None
        key = derivative.preview_key if what == "preview" else derivative.storage_key
    return store.path(key) if key else None


def _receive(store: LocalStorage, stream: BinaryIO, filename: str, config: Config,
             also: Callable[[ReceivedUpload, MediaInfo], None] | None = None) -> tuple[ReceivedUpload, MediaInfo]:
    """Stream the file in and inspect it (plus `also`'s checks); a refusal leaves nothing behind."""
    try:
        received = store.save_stream(stream, max_upload_bytes(config))
    except MediaRejected as rejected:
        raise _not_accepted(rejected) from None
    try:
        info = inspect(received.path, limits(config))
        _check_name(filename, info.kind)
        if also is not None:
            also(received, info)
    except MediaRejected as rejected:
        store.discard(received)
        raise _not_accepted(rejected) from None
    return received, info


def _check_banner_fits(spec: BannerSpec, config: Config) -> None:
    """Refuse at once a text that no board can show, instead of failing in the workers."""
    import tempfile

    from media.banner import render_banner

    with tempfile.TemporaryDirectory() as folder:
        for profile in [*profiles(config), BANNER_THUMBNAIL_BOARD]:
            try:
                render_banner(spec, profile, Path(folder) / f"{profile.key}.png")
            except MediaRejected as rejected:
                raise _not_accepted(rejected) from None


def _check_colour(colour: str) -> None:
    try:
        parse_colour(colour)
    except MediaRejected as rejected:
        raise _not_accepted(rejected) from None


VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp"}


def _check_name(filename: str, kind: str) -> None:
    """The content decides what a file is; a name that says otherwise is refused,
    since whoever opens it by its name would be misled."""
    suffix = Path(safe_display_name(filename)).suffix.lower()
    if suffix in VIDEO_SUFFIXES and kind != "video":
        raise MediaRejected("media_name_mismatch", "The file is named like a video but it is a picture. Rename it or export it again.")
    if suffix in IMAGE_SUFFIXES and kind != "image":
        raise MediaRejected("media_name_mismatch", "The file is named like a picture but it is a video. Rename it or export it again.")


def _campaign(campaign_id: int) -> Campaign:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("No campaign with id %(id)s.", code="campaign_not_found", id=campaign_id)
    return campaign


def _own_approval(asset: MediaAsset, actor: Actor, to_status: str) -> bool:
    return to_status == "approved" and actor.user_id is not None and actor.user_id in (asset.uploaded_by_id, asset.changed_by_id)


def _back_to_review(asset: MediaAsset, actor: Actor, why: str) -> None:
    """A changed file or crop is not what was approved: it waits for review again."""
    if asset.status in ("approved", "rejected"):
        record(actor, "media.status", "media", asset.id, before=asset.status, after="pending", reason=why)
        asset.status, asset.rejection_reason = "pending", ""


def _not_accepted(rejected: MediaRejected) -> MediaNotAccepted:
    return MediaNotAccepted(rejected.message, code=rejected.code, **rejected.params)
