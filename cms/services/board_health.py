"""Board health: heartbeats, status polls, online or offline, screenshots on request, and the operator's alerts.

A board calls in every `boards.heartbeat_seconds` with the manifest version it plays
and the asset on screen. A board of a kind that cannot call in (VNNOX: the player
talks to its cloud, never to us) is asked instead by the leading scheduler every
`boards.status_poll_seconds`, and an answer that it is online counts as a heartbeat.
Either way, a board not heard from for three of its intervals shows offline. The
version it reports counts as acknowledged when it is one the CMS made, and
acknowledgement only ever moves up. Time enters as `now`.
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
from display_adapters.base import BoardRef, BoardStatus, adapter_for
from display_adapters.registry import adapter_class, polled_kinds

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


def polled_boards() -> list[BoardRef]:
    """The active boards the leading scheduler asks for their status: those of kinds that cannot
    call in but can be asked (boards that call in are left to their heartbeats)."""
    from cms.services.manifests import board_ref

    screens = db.session.scalars(select(Screen).where(Screen.active.is_(True), Screen.adapter_kind.in_(polled_kinds()))
                                 .order_by(Screen.id))
    return [board_ref(screen) for screen in screens]


def ask_status(board: BoardRef, timeout: float) -> BoardStatus:
    """The board's answer through its driver. Never raises for the board's faults: a refusal, a
    timeout or a driver's bug is an answer that it was not seen, with why in `detail`."""
    try:
        return adapter_for(board, timeout).fetch_status()
    except Exception as error:  # RetryLater, Rejected, a timeout, or a driver's bug: the others go on
        return BoardStatus(False, detail=f"{type(error).__name__}: {error}"[:1000])


def record_seen(screen_id: int, status: BoardStatus, now: datetime) -> None:
    """A polled board answered that it is online: seen now, with the version and asset it gave
    shown as a heartbeat's are; commits. Any other answer records nothing: not seen is what
    silence already says. A polled answer acknowledges nothing: such a board's cloud may only
    repeat what its driver last handed it, so its pushes alone say what it took."""
    upsert(BoardHealth, {"screen_id": screen_id}, {"last_seen_at": now, "heartbeat_version": status.current_version,
                                                   "current_asset_id": status.asset_id})
    db.session.commit()


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


def heard_every(kind: str, settings: BoardsConfig) -> int | None:
    """How often a board of this kind is heard from: its heartbeat, or the leading scheduler's
    status poll for a kind that cannot call in. None for a kind that can do neither: it is never
    heard from, so its silence says nothing and raises no alert."""
    try:
        calls_in = adapter_class(kind).calls_in
    except Exception:  # an uninstalled kind: say so through the offline alert
        return settings.heartbeat_seconds
    if calls_in:
        return settings.heartbeat_seconds
    return settings.status_poll_seconds if kind in polled_kinds() else None


def is_online(health: BoardHealth | None, every_seconds: int | None, now: datetime) -> bool:
    """Seen within three of the intervals the board is heard from at (`heard_every`)."""
    return (every_seconds is not None and health is not None and health.last_seen_at is not None
            and now - health.last_seen_at <= timedelta(seconds=3 * every_seconds))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def describe_health(health: BoardHealth | None, every_seconds: int | None, now: datetime) -> dict[str, Any]:
    return {
        "online": is_online(health, every_seconds, now),
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
    ids = [row["screen_id"] for row in rows]
    healths = health_by_board(ids)
    kinds = dict(db.session.execute(select(Screen.id, Screen.adapter_kind).where(Screen.id.in_(ids))).all())
    every = {kind: heard_every(kind, settings) for kind in set(kinds.values())}
    return [row | {"health": describe_health(healths.get(row["screen_id"]), every[kinds[row["screen_id"]]], now)}
            for row in rows]


@dataclass(frozen=True)
class Alert:
    kind: str  # one of ALERT_KINDS
    screen_id: int
    code: str
    name: str
    since: datetime | None  # None: a board never heard from, registered long enough ago
    detail: dict[str, Any]


def board_alerts(settings: BoardsConfig, now: datetime) -> list[Alert]:
    """What an operator should look at, per active board: offline for `offline_alert_minutes`
    (or never heard from that long after registration), a newest manifest not acknowledged
    for `unacknowledged_alert_minutes`, and a board showing an asset that its acknowledged
    manifest does not name.

    Offline counts from three intervals after the board was last seen, whether it calls in
    or is polled. A polled board never yet seen counts from three poll intervals after its
    registration (the scheduler's first polls), so a new VNNOX board is no alert before it
    could have answered. A kind that can neither call in nor be asked is never an offline alert."""
    screens = list(db.session.scalars(select(Screen).where(Screen.active.is_(True)).order_by(Screen.group_name, Screen.code)))
    healths = health_by_board()
    syncs = {s.screen_id: s for s in db.session.scalars(select(BoardSync))}
    made = dict(db.session.execute(select(Manifest.screen_id, Manifest.created_at).join(
        BoardSync, (BoardSync.screen_id == Manifest.screen_id) & (BoardSync.latest_version == Manifest.version))).all())
    playing = acknowledged_manifests()
    named = {key.screen_id: digest.asset_ids for key, digest in digests(playing.values(), now, playing=False).items()}
    every = {kind: heard_every(kind, settings) for kind in {screen.adapter_kind for screen in screens}}
    polled = set(polled_kinds())
    alerts: list[Alert] = []
    for screen in screens:
        health, sync = healths.get(screen.id), syncs.get(screen.id)
        seen = health.last_seen_at if health else None
        interval = every[screen.adapter_kind]
        online = is_online(health, interval, now)
        if not online and interval is not None:
            since = seen + timedelta(seconds=3 * interval) if seen is not None else None
            first_chance = screen.created_at + timedelta(seconds=3 * interval if screen.adapter_kind in polled else 0)
            if (since or first_chance) <= now - timedelta(minutes=settings.offline_alert_minutes):
                alerts.append(Alert("offline", screen.id, screen.code, screen.name, since,
                                    {"last_seen_at": _iso(seen)}))
        if sync is not None and sync.latest_version > sync.acknowledged_version:
            # From when the manifest was made, or the board got a new controller, which is given
            # the same time to take it.
            created = made.get(screen.id)
            if created is not None and sync.controller_changed_at is not None:
                created = max(created, sync.controller_changed_at)
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
