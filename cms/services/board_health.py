"""Board health: heartbeats, online or offline, screenshots on request, and the operator's alerts.

A board calls in every `boards.heartbeat_seconds` with the manifest version it plays
and the asset on screen. Three missed heartbeats and it shows offline. The version
it reports counts as acknowledged when it is one the CMS made, and acknowledgement
only ever moves up. Time enters as `now`.
"""
from __future__ import annotations

import binascii
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.dialects import postgresql, sqlite

from cms.config import BoardsConfig, Config
from cms.errors import NotFound, ValidationFailed
from cms.extensions import db
from cms.models import BoardHealth, BoardSync, Manifest, MediaAsset, Screen
from cms.services.audit import Actor, record
from cms.services.manifest_digests import acknowledged_manifests, digests
from cms.services.media import storage

MAX_SCREENSHOT_BYTES = 8 * 1024 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ALERT_KINDS = ("offline", "manifest_not_acknowledged", "unexpected_content")


def upsert(model: Any, key: dict[str, Any], values: dict[str, Any], changes: dict[str, Any] | None = None) -> None:
    """INSERT … ON CONFLICT DO UPDATE on SQLite and PostgreSQL: one statement, no read-then-write race.
    `changes` (default: `values`) is what an existing row gets."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(model).values(**key, **values)
    db.session.execute(statement.on_conflict_do_update(index_elements=list(key), set_=changes or values))


@dataclass(frozen=True)
class Heartbeat:
    version: int | None
    asset_id: int | None
    at: datetime | None  # the board's clock
    screenshot: bytes | None  # a PNG, when the board sends one


def decode_screenshot(text: Any) -> bytes | None:
    """A base64 PNG from a heartbeat, checked to be a PNG of sensible size."""
    import base64

    if text is None:
        return None
    if not isinstance(text, str):
        raise ValidationFailed("screenshot must be a base64 PNG.", code="screenshot_invalid")
    if len(text) > MAX_SCREENSHOT_BYTES * 4 // 3 + 4:
        raise ValidationFailed("The screenshot is larger than 8 MB.", code="screenshot_too_large")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("screenshot must be a base64 PNG.", code="screenshot_invalid") from None
    if not data.startswith(PNG_SIGNATURE):
        raise ValidationFailed("screenshot must be a base64 PNG.", code="screenshot_invalid")
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG" or image.width > 7680 or image.height > 4320:
                raise ValidationFailed("screenshot must be a PNG of at most 7680×4320.", code="screenshot_invalid")
            image.verify()
    except ValidationFailed:
        raise
    except Exception:  # Pillow raises many kinds for a broken file
        raise ValidationFailed("screenshot must be a base64 PNG.", code="screenshot_invalid") from None
    return data


def record_heartbeat(screen: Screen, beat: Heartbeat, config: Config, now: datetime) -> dict[str, Any]:
    """Keep what the board said, move its acknowledgement up, store a screenshot; commits.
    The answer tells the board whether a screenshot is wanted and our newest version."""
    if beat.version is not None:
        _board_reports(screen.id, beat.version)
    values: dict[str, Any] = {"last_seen_at": now, "board_clock_at": beat.at, "heartbeat_version": beat.version,
                              "current_asset_id": beat.asset_id}
    old_key = None
    wanted = screenshot_wanted(db.session.get(BoardHealth, screen.id))
    if beat.screenshot is not None and wanted:  # one nobody asked for is dropped, so boards cannot fill the disk
        store = storage(config)
        key = store.new_key(".png")
        store.path(key).write_bytes(beat.screenshot)
        old_key = db.session.scalar(select(BoardHealth.screenshot_key).where(BoardHealth.screen_id == screen.id))
        values.update(screenshot_key=key, screenshot_at=now)
    upsert(BoardHealth, {"screen_id": screen.id}, values)
    db.session.commit()
    if old_key:
        storage(config).delete(old_key)
    health = db.session.get(BoardHealth, screen.id)
    newest = db.session.scalar(select(Manifest.version).where(Manifest.screen_id == screen.id)
                               .order_by(Manifest.version.desc()).limit(1)) or 0
    return {"screenshot_wanted": screenshot_wanted(health), "manifest_version": newest}


def _board_reports(screen_id: int, version: int) -> None:
    """The board plays `version`: that is what it holds (reported), and when we made that
    version, what it acknowledged. Both only move up."""
    ours = db.session.scalar(select(Manifest.id).where(Manifest.screen_id == screen_id, Manifest.version == version))
    if ours is None and not plausible_version(screen_id, version):
        return  # far above anything we made: a faulty or hostile board must not renumber our manifests
    values: dict[str, Any] = {"reported_version": case((BoardSync.reported_version < version, version),
                                                       else_=BoardSync.reported_version)}
    if ours is not None:
        values["acknowledged_version"] = case((BoardSync.acknowledged_version < version, version),
                                              else_=BoardSync.acknowledged_version)
    db.session.execute(update(BoardSync).where(BoardSync.screen_id == screen_id).values(**values))


def plausible_version(screen_id: int, version: int) -> bool:
    from cms.services.manifests import plausible_report

    latest = db.session.scalar(select(BoardSync.latest_version).where(BoardSync.screen_id == screen_id)) or 0
    return plausible_report(latest, version)


def screenshot_wanted(health: BoardHealth | None) -> bool:
    if health is None or health.screenshot_requested_at is None:
        return False
    return health.screenshot_at is None or health.screenshot_at < health.screenshot_requested_at


def request_screenshot(screen: Screen, actor: Actor, now: datetime) -> None:
    """The board's next heartbeat answer asks it for a screenshot."""
    upsert(BoardHealth, {"screen_id": screen.id}, {"screenshot_requested_at": now})
    record(actor, "screen.screenshot_request", "screen", screen.id, code=screen.code)


def screenshot_file(screen: Screen, config: Config) -> tuple[Any, datetime | None]:
    """The path of the board's newest screenshot and when it came."""
    health = db.session.get(BoardHealth, screen.id)
    if health is None or not health.screenshot_key:
        raise NotFound("This board has sent no screenshot yet.", code="screenshot_not_found")
    path = storage(config).path(health.screenshot_key)
    if not path.is_file():
        raise NotFound("This board has sent no screenshot yet.", code="screenshot_not_found")
    return path, health.screenshot_at


def is_online(health: BoardHealth | None, settings: BoardsConfig, now: datetime) -> bool:
    """Seen within three heartbeat intervals."""
    return (health is not None and health.last_seen_at is not None
            and now - health.last_seen_at <= timedelta(seconds=3 * settings.heartbeat_seconds))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def describe_health(health: BoardHealth | None, settings: BoardsConfig, now: datetime) -> dict[str, Any]:
    return {
        "online": is_online(health, settings, now),
        "last_seen_at": _iso(health.last_seen_at) if health else None,
        "heartbeat_version": health.heartbeat_version if health else None,
        "current_asset_id": health.current_asset_id if health else None,
        "last_play_at": _iso(health.last_play_at) if health else None,
        "screenshot_at": _iso(health.screenshot_at) if health else None,
        "screenshot_requested_at": _iso(health.screenshot_requested_at) if health else None,
        "screenshot_wanted": screenshot_wanted(health),
    }


def health_by_board(screen_ids: list[int] | None = None) -> dict[int, BoardHealth]:
    query = select(BoardHealth)
    if screen_ids is not None:
        query = query.where(BoardHealth.screen_id.in_(screen_ids))
    return {h.screen_id: h for h in db.session.scalars(query)}


def with_health(rows: list[dict[str, Any]], settings: BoardsConfig, now: datetime) -> list[dict[str, Any]]:
    """The "on air" rows (cms.services.manifests.on_air), each with its board's `health`."""
    healths = health_by_board([row["screen_id"] for row in rows])
    return [row | {"health": describe_health(healths.get(row["screen_id"]), settings, now)} for row in rows]


@dataclass(frozen=True)
class Alert:
    kind: str  # one of ALERT_KINDS
    screen_id: int
    code: str
    name: str
    since: datetime | None  # None: a board that has never called in, registered long enough ago
    detail: dict[str, Any]


def _calls_in(kind: str) -> bool:
    """Whether boards of this kind send heartbeats; silence from one that cannot is no alert."""
    from display_adapters.registry import adapter_class

    try:
        return adapter_class(kind).calls_in
    except Exception:  # an uninstalled kind: say so through the offline alert
        return True


def board_alerts(settings: BoardsConfig, now: datetime) -> list[Alert]:
    """What an operator should look at, per active board: offline for `offline_alert_minutes`
    (or never called in that long after registration), a newest manifest not acknowledged
    for `unacknowledged_alert_minutes`, and a board showing an asset that its acknowledged
    manifest does not name."""
    screens = list(db.session.scalars(select(Screen).where(Screen.active.is_(True)).order_by(Screen.group_name, Screen.code)))
    healths = health_by_board()
    syncs = {s.screen_id: s for s in db.session.scalars(select(BoardSync))}
    made = dict(db.session.execute(select(Manifest.screen_id, Manifest.created_at).join(
        BoardSync, (BoardSync.screen_id == Manifest.screen_id) & (BoardSync.latest_version == Manifest.version))).all())
    playing = acknowledged_manifests()
    named = {key.screen_id: digest.asset_ids for key, digest in digests(playing.values(), now, playing=False).items()}
    offline_after = timedelta(seconds=3 * settings.heartbeat_seconds)
    alerts: list[Alert] = []
    for screen in screens:
        health, sync = healths.get(screen.id), syncs.get(screen.id)
        seen = health.last_seen_at if health else None
        online = is_online(health, settings, now)
        if not online and _calls_in(screen.adapter_kind):
            since = seen + offline_after if seen is not None else None
            if (since or screen.created_at) <= now - timedelta(minutes=settings.offline_alert_minutes):
                alerts.append(Alert("offline", screen.id, screen.code, screen.name, since,
                                    {"last_seen_at": _iso(seen)}))
        if sync is not None and sync.latest_version > sync.acknowledged_version:
            created = made.get(screen.id)
            if created is not None and created <= now - timedelta(minutes=settings.unacknowledged_alert_minutes):
                alerts.append(Alert("manifest_not_acknowledged", screen.id, screen.code, screen.name, created,
                                    {"latest_version": sync.latest_version, "acknowledged_version": sync.acknowledged_version}))
        if online and health is not None and health.current_asset_id is not None:
            if health.current_asset_id not in named.get(screen.id, ()):
                alerts.append(Alert("unexpected_content", screen.id, screen.code, screen.name, health.last_seen_at, {
                    "asset_id": health.current_asset_id, "heartbeat_version": health.heartbeat_version,
                    "acknowledged_version": sync.acknowledged_version if sync else 0}))
    names = dict(db.session.execute(select(MediaAsset.id, MediaAsset.display_name).where(
        MediaAsset.id.in_({a.detail["asset_id"] for a in alerts if a.kind == "unexpected_content"}))).all())
    for alert in alerts:
        if alert.kind == "unexpected_content":
            alert.detail["asset_name"] = names.get(alert.detail["asset_id"])
    return alerts


def describe_alert(alert: Alert) -> dict[str, Any]:
    return {"kind": alert.kind, "screen_id": alert.screen_id, "code": alert.code, "name": alert.name,
            "since": _iso(alert.since), "detail": alert.detail}
