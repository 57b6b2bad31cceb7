"""Manifests: what each board is given to play, made from the schedule and versioned.

A reconcile reads the schedule's inputs in a few queries, and only for boards
whose inputs changed (the rules touching them, their playlists, approvals,
renditions, the board itself, or the manifest window moving on) resolves the
timeline and writes a new manifest version. Pushing is separate: a board is due
while its newest version is above what it acknowledged, and each attempt is
recorded with its result and latency.
"""
from __future__ import annotations

import hashlib
import json
import random
import time as clock
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import and_, case, delete, func, select, tuple_, update
from sqlalchemy.orm import selectinload

from cms.config import Config, SchedulerConfig
from cms.extensions import db
from cms.models import BoardSync, Manifest, MediaAsset, MediaDerivative, Playlist, PlaylistItem, PushAttempt, ScheduleRule, Screen
from cms.services.manifest_digests import acknowledged_manifests, digests
from cms.services.rules import resolver_playlist, resolver_rule
from cms.services.plan_record import record_plan
from cms.services.screens import LIST_ORDER
from cms.services.timelines import board_for
from display_adapters.base import AdapterError, BoardRef, PushResult
from display_adapters.registry import pull_only_kinds
from scheduler.backoff import retry_delay
from scheduler.model import Playlist as PlanPlaylist
from scheduler.model import Rule, Timeline
from scheduler.resolver import resolve

SCHEMA = "panoled.manifest/1"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def window_for(now: datetime, settings: SchedulerConfig) -> tuple[datetime, datetime]:
    """The manifest window: from the start of the current refresh step to at least
    `lookahead_hours` ahead. Inside one step the window stays put, so time passing
    alone does not make a new manifest."""
    step = settings.refresh_hours * 3600
    start = EPOCH + timedelta(seconds=int((now - EPOCH).total_seconds()) // step * step)
    return start, start + timedelta(hours=settings.lookahead_hours, seconds=step)


def profile_key(screen: Screen) -> str:
    return f"{screen.width}x{screen.height}"


class AssetFacts(NamedTuple):
    """What a manifest says of an asset."""

    campaign_id: int
    kind: str
    display_name: str


class Rendition(NamedTuple):
    """A done rendition of an asset for one board size."""

    id: int
    generation: int
    storage_key: str | None
    notes: dict[str, Any]


@dataclass
class Snapshot:
    """Everything manifests are made from, read in a handful of queries."""

    screens: list[Screen]
    rules: list[Rule]
    rule_marks: dict[int, str]
    fallbacks: dict[int, PlanPlaylist | None]
    assets: dict[int, AssetFacts]
    renditions: dict[tuple[int, str], Rendition]
    fallback_marks: dict[int, str] = field(default_factory=dict)
    by_board: dict[int, list[Rule]] = field(default_factory=dict)
    by_group: dict[str, list[Rule]] = field(default_factory=dict)
    # Worked out once per snapshot, not once per board: a reconcile fingerprints every board.
    _rule_assets: dict[int, frozenset[int]] = field(default_factory=dict)
    _media_marks: dict[tuple[int, str], tuple[int, str, str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for rule in self.rules:
            self._rule_assets[rule.rule_id] = frozenset(i.asset_id for i in rule.playlist.items)
            for board_id in rule.board_ids:
                self.by_board.setdefault(board_id, []).append(rule)
            for group in rule.groups:
                self.by_group.setdefault(group, []).append(rule)

    def rules_of(self, screen: Screen) -> list[Rule]:
        found = {r.rule_id: r for r in self.by_board.get(screen.id, ())}
        found.update((r.rule_id, r) for r in self.by_group.get(screen.group_name, ()) if screen.group_name)
        return [found[k] for k in sorted(found)]

    def fingerprint(self, screen: Screen, window: tuple[datetime, datetime]) -> str:
        """Changes exactly when the manifest could: any input of the board's timeline or media."""
        fallback = self.fallbacks.get(screen.id)
        rules = self.rules_of(screen)
        asset_ids = set().union(*(self._rule_assets[r.rule_id] for r in rules))
        asset_ids.update(i.asset_id for i in (fallback.items if fallback else ()))
        key = profile_key(screen)
        media = [self._media_mark(a, key) for a in sorted(asset_ids)]
        parts = [
            SCHEMA, window[0].isoformat(), window[1].isoformat(), screen.id, screen.code, screen.width, screen.height,
            screen.timezone, str(screen.opens_at), str(screen.closes_at), screen.group_name,
            self.fallback_marks.get(screen.id, repr(None)),
            [self.rule_marks[r.rule_id] for r in rules], media,
        ]
        return hashlib.sha256(json.dumps(parts, default=str).encode("utf-8")).hexdigest()

    def _media_mark(self, asset_id: int, key: str) -> tuple[int, str, str, str]:
        mark = self._media_marks.get((asset_id, key))
        if mark is None:
            asset = self.assets[asset_id]
            mark = self._media_marks[(asset_id, key)] = (
                asset_id, asset.kind, asset.display_name, _rendition_mark(self.renditions.get((asset_id, key))))
        return mark


def _rendition_mark(rendition: Rendition | None) -> str:
    if rendition is None:
        return "-"
    return f"{rendition.id}.{rendition.generation}.{rendition.storage_key}"


def load_snapshot() -> Snapshot:
    screens = list(db.session.scalars(
        select(Screen).where(Screen.active.is_(True)).order_by(Screen.id)
        .options(selectinload(Screen.fallback_playlist).selectinload(Playlist.items).selectinload(PlaylistItem.asset))))
    rows = db.session.scalars(
        select(ScheduleRule).order_by(ScheduleRule.id)
        .options(selectinload(ScheduleRule.playlist).selectinload(Playlist.items).selectinload(PlaylistItem.asset),
                 selectinload(ScheduleRule.playlist).selectinload(Playlist.campaign)))
    rules = [rule for rule in map(resolver_rule, rows) if rule is not None]
    # Many boards share a few fallback playlists: each is converted and written out once.
    converted: dict[int, tuple[PlanPlaylist | None, str]] = {}
    for screen in screens:
        if screen.fallback_playlist_id and screen.fallback_playlist_id not in converted:
            playlist = resolver_playlist(screen.fallback_playlist)
            converted[screen.fallback_playlist_id] = (playlist, repr(playlist))
    fallbacks = {s.id: converted[s.fallback_playlist_id][0] for s in screens if s.fallback_playlist_id}
    fallback_marks = {s.id: converted[s.fallback_playlist_id][1] for s in screens if s.fallback_playlist_id}
    asset_ids = {i.asset_id for r in rules for i in r.playlist.items}
    asset_ids |= {i.asset_id for p in fallbacks.values() if p for i in p.items}
    assets: dict[int, AssetFacts] = {}
    renditions: dict[tuple[int, str], Rendition] = {}
    if asset_ids:
        # Plain rows, not ORM objects: only a few columns are needed, for every asset.
        assets = {row.id: AssetFacts(row.campaign_id, row.kind, row.display_name) for row in db.session.execute(
            select(MediaAsset.id, MediaAsset.campaign_id, MediaAsset.kind, MediaAsset.display_name)
            .where(MediaAsset.id.in_(asset_ids)))}
        keys = {profile_key(s) for s in screens}
        for row in db.session.execute(
                select(MediaDerivative.id, MediaDerivative.asset_id, MediaDerivative.profile_key,
                       MediaDerivative.generation, MediaDerivative.storage_key, MediaDerivative.notes)
                .where(MediaDerivative.asset_id.in_(asset_ids), MediaDerivative.kind == "rendition",
                       MediaDerivative.state == "done", MediaDerivative.profile_key.in_(keys))):
            renditions[(row.asset_id, row.profile_key)] = Rendition(row.id, row.generation, row.storage_key,
                                                                    row.notes)
    marks = {r.rule_id: repr(r) for r in rules}
    return Snapshot(screens, rules, marks, fallbacks, assets, renditions, fallback_marks)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def manifest_body(screen: Screen, timeline: Timeline, snapshot: Snapshot) -> dict[str, Any]:
    """Everything but the version and the time it was made (those are added on top)."""
    playlists: dict[int, PlanPlaylist] = {}
    segments = []
    for segment in timeline.segments:
        if segment.playlist is not None:
            playlists.setdefault(segment.playlist.playlist_id, segment.playlist)
        segments.append({"start": _iso(segment.start), "end": _iso(segment.end), "kind": segment.kind,
                         "rule_id": segment.rule_id, "playlist_id": segment.playlist_id,
                         "first_item": segment.first_item, "truncated": segment.truncated})
    key = profile_key(screen)
    media = []
    for asset_id in sorted({item.asset_id for p in playlists.values() for item in p.items}):
        asset, rendition = snapshot.assets[asset_id], snapshot.renditions.get((asset_id, key))
        notes = rendition.notes if rendition is not None else {}
        media.append({
            "asset_id": asset_id, "campaign_id": asset.campaign_id, "kind": asset.kind, "name": asset.display_name,
            "ready": rendition is not None,
            "revision": f"{rendition.id}.{rendition.generation}" if rendition is not None else None,
            "sha256": notes.get("sha256"), "bytes": notes.get("bytes"),
            "path": f"/api/v1/screens/{screen.id}/media/{asset_id}",
        })
    return {
        "schema": SCHEMA,
        "screen": {"id": screen.id, "code": screen.code, "width": screen.width, "height": screen.height,
                   "time_zone": screen.timezone, "operating_hours": f"{screen.opens_at:%H:%M}-{screen.closes_at:%H:%M}"},
        "valid_from": _iso(timeline.start), "valid_until": _iso(timeline.end),
        "media": media,
        "playlists": [{"playlist_id": p.playlist_id,
                       "items": [{"asset_id": i.asset_id, "campaign_id": i.campaign_id, "duration": i.duration}
                                 for i in p.items]} for _, p in sorted(playlists.items())],
        "segments": segments,
    }


def content_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def boundaries(timeline: Timeline) -> list[int]:
    """Unix seconds where the board moves from one rule or playlist to another, goes dark or lights up."""
    marks: list[int] = []
    previous, last_end = None, None
    for segment in timeline.segments:
        current = (segment.kind, segment.rule_id, segment.playlist_id)
        if current != previous or segment.start != last_end:
            if last_end is not None and segment.start != last_end:
                marks.append(int(last_end.timestamp()))
            marks.append(int(segment.start.timestamp()))
        previous, last_end = current, segment.end
    if last_end is not None:
        marks.append(int(last_end.timestamp()))
    return sorted(set(marks))


@dataclass(frozen=True)
class ReconcileReport:
    boards: int
    rebuilt: int
    new_versions: dict[int, int]
    seconds: float


def reconcile(config: Config, now: datetime, fence: Callable[[], bool] | None = None) -> ReconcileReport:
    """Give every active board whose inputs changed a new manifest version if its
    content changed, and renumber above a board that holds a higher version than
    ours (a restored database); commits unless `fence()` says this process no
    longer leads. Safe to call as often as wanted."""
    started = clock.perf_counter()
    settings = config.scheduler
    window = window_for(now, settings)
    snapshot = load_snapshot()
    syncs = {row.screen_id: row for row in db.session.execute(select(
        BoardSync.screen_id, BoardSync.input_fingerprint, BoardSync.latest_version,
        BoardSync.acknowledged_version, BoardSync.reported_version))}
    stale: list[tuple[Screen, str]] = []
    for screen in snapshot.screens:
        mark = snapshot.fingerprint(screen, window)
        sync = syncs.get(screen.id)
        if sync is None:
            db.session.add(BoardSync(screen_id=screen.id, input_fingerprint="", latest_version=0, acknowledged_version=0,
                                     reported_version=0, failures=0, last_result="", last_error=""))
            stale.append((screen, mark))
        elif sync.input_fingerprint != mark or _outnumbered(sync):
            stale.append((screen, mark))
    new_versions: dict[int, int] = {}
    if stale:
        boards = [board_for(screen) for screen, _ in stale]
        wanted = {r.rule_id: r for screen, _ in stale for r in snapshot.rules_of(screen)}
        timelines = resolve(boards, list(wanted.values()), *window)
        latest = _latest_hashes([screen.id for screen, _ in stale])
        for screen, mark in stale:
            sync = syncs.get(screen.id)
            timeline = timelines[screen.id]
            body = manifest_body(screen, timeline, snapshot)
            digest = content_hash(body)
            where = BoardSync.screen_id == screen.id
            if latest.get(screen.id) == digest and not (sync is not None and _outnumbered(sync)):
                db.session.execute(update(BoardSync).where(where).values(input_fingerprint=mark))
                continue
            version = (max(sync.latest_version, min(sync.reported_version, sync.latest_version + MAX_VERSION_JUMP)) + 1
                       if sync is not None else 1)
            body = {**body, "version": version, "generated_at": _iso(now)}
            db.session.add(Manifest(screen_id=screen.id, version=version, content_hash=digest, valid_from=window[0],
                                    valid_until=window[1], body=body, boundaries=boundaries(timeline), created_at=now))
            record_plan(screen.id, screen.timezone, timeline, now)
            # One UPDATE, so a push recorded meanwhile keeps its backoff: a failing board
            # stays on its retry time, the others are due at once.
            db.session.execute(update(BoardSync).where(where).values(
                input_fingerprint=mark, latest_version=version,
                next_attempt_at=case((BoardSync.failures == 0, now), else_=BoardSync.next_attempt_at)))
            new_versions[screen.id] = version
    if new_versions:
        _prune(now, settings.keep_manifest_days)
    if fence is not None and not fence():
        db.session.rollback()
        return ReconcileReport(len(snapshot.screens), len(stale), {}, clock.perf_counter() - started)
    db.session.commit()
    return ReconcileReport(len(snapshot.screens), len(stale), new_versions, clock.perf_counter() - started)


def _outnumbered(sync: Any) -> bool:
    """The board reported a version at or above our newest, which it has not acknowledged:
    our numbering is behind the board's (a restored database, a re-registered board)."""
    return sync.reported_version >= sync.latest_version > sync.acknowledged_version


def _latest_hashes(screen_ids: list[int]) -> dict[int, str]:
    newest = (select(Manifest.screen_id, func.max(Manifest.version).label("version"))
              .where(Manifest.screen_id.in_(screen_ids)).group_by(Manifest.screen_id).subquery())
    rows = db.session.execute(select(Manifest.screen_id, Manifest.content_hash).join(
        newest, and_(Manifest.screen_id == newest.c.screen_id, Manifest.version == newest.c.version)))
    return {screen_id: digest for screen_id, digest in rows}


def _prune(now: datetime, keep_days: int) -> None:
    """Old manifests and push records go; each board's newest manifest and the one it
    acknowledged (what it plays) stay whatever their age."""
    cutoff = now - timedelta(days=keep_days)
    newest = select(Manifest.screen_id, func.max(Manifest.version)).group_by(Manifest.screen_id)
    playing = select(BoardSync.screen_id, BoardSync.acknowledged_version)
    db.session.execute(delete(Manifest).where(
        Manifest.created_at < cutoff,
        tuple_(Manifest.screen_id, Manifest.version).not_in(newest),
        tuple_(Manifest.screen_id, Manifest.version).not_in(playing)))
    db.session.execute(delete(PushAttempt).where(PushAttempt.started_at < cutoff))


def latest_manifest(screen_id: int) -> Manifest | None:
    return db.session.scalar(select(Manifest).where(Manifest.screen_id == screen_id).order_by(Manifest.version.desc()).limit(1))


def latest_boundaries(screen_ids: Iterable[int] | None = None) -> dict[int, list[int]]:
    newest = select(Manifest.screen_id, func.max(Manifest.version).label("version")).group_by(Manifest.screen_id)
    if screen_ids is not None:
        newest = newest.where(Manifest.screen_id.in_(list(screen_ids)))
    sub = newest.subquery()
    rows = db.session.execute(select(Manifest.screen_id, Manifest.boundaries).join(
        sub, and_(Manifest.screen_id == sub.c.screen_id, Manifest.version == sub.c.version)))
    return {screen_id: list(marks or []) for screen_id, marks in rows}


# ---------------------------------------------------------------------------
# Pushing


@dataclass(frozen=True)
class PushJob:
    board: BoardRef
    version: int
    manifest: dict[str, Any]


@dataclass(frozen=True)
class PushOutcome:
    result: str  # one of cms.models.manifests.PUSH_RESULTS
    latency_ms: float
    error: str = ""
    current_version: int | None = None


def due_pushes(now: datetime, busy: set[int], limit: int) -> list[PushJob]:
    """Boards whose newest manifest is not yet acknowledged and whose next try is due.
    Boards of kinds that are not pushed to (the web player pulls) are never due."""
    rows = db.session.execute(
        select(Screen, BoardSync.latest_version).join(BoardSync, BoardSync.screen_id == Screen.id)
        .where(Screen.active.is_(True), Screen.adapter_kind.not_in(pull_only_kinds()),
               BoardSync.latest_version > BoardSync.acknowledged_version,
               (BoardSync.next_attempt_at.is_(None)) | (BoardSync.next_attempt_at <= now))
        .order_by(BoardSync.next_attempt_at.is_not(None), BoardSync.next_attempt_at, Screen.id)).all()
    wanted = [(screen, version) for screen, version in rows if screen.id not in busy][:limit]
    if not wanted:
        return []
    bodies = {(screen_id, version): body for screen_id, version, body in db.session.execute(
        select(Manifest.screen_id, Manifest.version, Manifest.body).where(
            tuple_(Manifest.screen_id, Manifest.version).in_([(s.id, v) for s, v in wanted])))}
    jobs = []
    for screen, version in wanted:
        body = bodies.get((screen.id, version))
        if body is not None:
            jobs.append(PushJob(board_ref(screen), version, body))
    return jobs


def board_ref(screen: Screen) -> BoardRef:
    """The board as its driver needs it, detached from the session (drivers run in other threads)."""
    return BoardRef(screen.id, screen.code, screen.adapter_kind, screen.width, screen.height,
                    dict(screen.adapter_options or {}), screen.signing_key or "")


def push(job: PushJob, timeout: float) -> PushOutcome:
    """Hand one manifest to its board through the board's adapter; never raises for the board's faults."""
    from display_adapters.base import adapter_for

    started = clock.perf_counter()
    try:
        answer: PushResult = adapter_for(job.board, timeout).push_manifest(job.manifest)
    except AdapterError as error:
        result = "timeout" if error.timeout else "retry" if error.retry else "rejected"
        return PushOutcome(result, (clock.perf_counter() - started) * 1000, str(error)[:1000])
    except Exception as error:  # a driver's bug must not stop the other boards
        return PushOutcome("retry", (clock.perf_counter() - started) * 1000, f"{type(error).__name__}: {error}"[:1000])
    latency = (clock.perf_counter() - started) * 1000
    if answer.accepted:
        return PushOutcome("ok", latency, answer.detail, answer.current_version)
    return PushOutcome("stale", latency, answer.detail or "the board holds a newer version", answer.current_version)


MAX_VERSION_JUMP = 1000  # a board reporting more than this above our versions is not believed
MAX_VERSION = 2**31 - 1 - MAX_VERSION_JUMP


def plausible_report(ours: int, reported: int | None) -> bool:
    """Whether a version a board says it holds may be believed, given our newest: a board
    restored from an older database may be ahead a little, never by a thousand."""
    return reported is not None and 0 <= reported <= min(ours + MAX_VERSION_JUMP, MAX_VERSION)


def record_push(screen_id: int, version: int, outcome: PushOutcome, now: datetime, settings: SchedulerConfig,
                scheduler: str, rng: random.Random | None = None) -> None:
    """Keep the attempt (it ended at `now`), and move the board's state on: acknowledged,
    or when to try again."""
    started = now - timedelta(milliseconds=outcome.latency_ms)
    db.session.add(PushAttempt(screen_id=screen_id, version=version, started_at=started, latency_ms=round(outcome.latency_ms, 3),
                               result=outcome.result, error=outcome.error, scheduler=scheduler[:120]))
    values: dict[str, Any] = {"last_attempt_at": now, "last_result": outcome.result, "last_error": outcome.error}
    reported = outcome.current_version if plausible_report(version, outcome.current_version) else None
    if reported is not None:
        values["reported_version"] = case((BoardSync.reported_version < reported, reported),
                                          else_=BoardSync.reported_version)
    if outcome.result == "ok":
        acked = max(version, reported or 0)
        values.update(acknowledged_version=case((BoardSync.acknowledged_version < acked, acked),
                                                else_=BoardSync.acknowledged_version),
                      failures=0, next_attempt_at=None, last_success_at=now)
    elif outcome.result == "stale":
        # The board holds a version above ours (say, after a restore): the next
        # reconcile numbers a manifest above it, and that one is due at once.
        values.update(failures=0, next_attempt_at=now + timedelta(seconds=settings.reconcile_seconds))
    else:
        failures = db.session.scalar(select(BoardSync.failures).where(BoardSync.screen_id == screen_id)) or 0
        delay = (settings.backoff_max_seconds if outcome.result == "rejected"
                 else retry_delay(failures + 1, settings.backoff_base_seconds, settings.backoff_max_seconds, rng))
        values.update(failures=BoardSync.failures + 1, next_attempt_at=now + timedelta(seconds=delay))
    db.session.execute(update(BoardSync).where(BoardSync.screen_id == screen_id).values(**values))
    db.session.commit()


@dataclass(frozen=True)
class BoardState:
    screen: Screen
    sync: BoardSync | None
    last_attempt: PushAttempt | None


def board_states(screen_ids: Iterable[int] | None = None) -> list[BoardState]:
    """Every board (or those named) with where its manifests stand and its last push,
    for the "on air now" list."""
    screens = select(Screen).order_by(*LIST_ORDER)
    syncs = select(BoardSync)
    newest = select(PushAttempt.screen_id, func.max(PushAttempt.id).label("id")).group_by(PushAttempt.screen_id)
    if screen_ids is not None:
        wanted = list(screen_ids)
        screens = screens.where(Screen.id.in_(wanted))
        syncs = syncs.where(BoardSync.screen_id.in_(wanted))
        newest = newest.where(PushAttempt.screen_id.in_(wanted))
    last = newest.subquery()
    by_board = {s.screen_id: s for s in db.session.scalars(syncs)}
    attempts = {a.screen_id: a for a in db.session.scalars(select(PushAttempt).join(last, PushAttempt.id == last.c.id))}
    return [BoardState(s, by_board.get(s.id), attempts.get(s.id)) for s in db.session.scalars(screens)]


def describe_state(state: BoardState) -> dict[str, Any]:
    sync, attempt = state.sync, state.last_attempt
    return {
        "screen_id": state.screen.id, "code": state.screen.code, "name": state.screen.name,
        "latest_version": sync.latest_version if sync else 0,
        "acknowledged_version": sync.acknowledged_version if sync else 0,
        "in_sync": bool(sync) and sync.latest_version == sync.acknowledged_version and sync.latest_version > 0,
        "failures": sync.failures if sync else 0,
        "next_attempt_at": _iso(sync.next_attempt_at) if sync and sync.next_attempt_at else None,
        "last_result": attempt.result if attempt else "",
        "last_error": attempt.error if attempt else "",
        "last_attempt_at": _iso(attempt.started_at) if attempt else None,
        "last_latency_ms": attempt.latency_ms if attempt else None,
    }


def push_history(screen_id: int, limit: int = 50) -> list[PushAttempt]:
    return list(db.session.scalars(select(PushAttempt).where(PushAttempt.screen_id == screen_id)
                                   .order_by(PushAttempt.id.desc()).limit(limit)))


def on_air(now: datetime | None = None, screen_ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
    """Every board (or those named) as the "on air now" list shows it: delivery state, and
    what the manifest it acknowledged has it show now (None before it acknowledged any, or
    when it is dark)."""
    from cms.models import Campaign

    now = now or datetime.now(UTC)
    wanted = list(screen_ids) if screen_ids is not None else None
    states = board_states(wanted)
    # What the board plays is the manifest it acknowledged, not our newest.
    keys = acknowledged_manifests(wanted)
    held = digests(keys.values(), now)
    rows = []
    for state in states:
        row = describe_state(state)
        digest = held.get(keys[state.screen.id]) if state.screen.id in keys else None
        row.update(group=state.screen.group_name or None, now=digest.playing(now) if digest is not None else None)
        rows.append(row)
    titles = dict(db.session.execute(select(Campaign.id, Campaign.title).where(
        Campaign.id.in_({r["now"]["campaign_id"] for r in rows if r["now"] and r["now"]["campaign_id"]}))).all())
    for row in rows:
        if row["now"] is not None:
            row["now"]["campaign"] = titles.get(row["now"]["campaign_id"])
    return rows
