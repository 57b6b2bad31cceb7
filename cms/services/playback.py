"""Playback evidence: the plays boards report, stored exactly once each.

A batch is checked whole before anything is stored, so a bad play refuses the
batch and changes nothing. Each play is inserted with ON CONFLICT DO NOTHING on
(board, event uuid): a batch sent again, or the same batch sent twice at once,
stores each play once, and the answer says which plays were new. Late and
out-of-order plays keep their true times; plays in the future or from before
the board was registered are kept and flagged as clock skew.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, any_, case, cast, insert, select, text, tuple_
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import ARRAY

from cms.errors import ValidationFailed
from cms.extensions import db
from cms.services.play_stats import record_plays
from cms.services.playlog_chain import extend, lock_head
from cms.models import (
    ArchivedPlay, BoardHealth, Campaign, Manifest, MediaAsset, PlaybackEvent, PlaylogArchive, PlaylogBatch, Screen,
)

MAX_PLAYS = 1000
CLOCK_SKEW = timedelta(minutes=5)
LONGEST_PLAY = timedelta(hours=24)
# Times a board may report; anything else is refused, so date arithmetic cannot overflow.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_INT = 2**31 - 1


@dataclass(frozen=True)
class Play:
    event_id: str  # canonical lower-case uuid
    asset_id: int
    manifest_version: int
    started_at: datetime
    ended_at: datetime
    frame_hash: str | None


@dataclass(frozen=True)
class SignedBatch:
    """The request as the board signed it: kept with the plays it brings."""

    signed_at: int
    signature: str
    key: str  # the board key (hex) that verified it
    body: bytes


@dataclass(frozen=True)
class Ingested:
    new: list[str]
    duplicates: list[str]


def _invalid(index: int, key: str, problem: str) -> ValidationFailed:
    return ValidationFailed("plays[%(index)d].%(key)s: %(problem)s", code="play_invalid", index=index, key=key,
                            problem=problem)


def _whole(play: dict[str, Any], index: int, key: str, minimum: int) -> int:
    value = play.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_INT:
        raise _invalid(index, key, f"a whole number of at least {minimum}")
    return value


def _instant(play: dict[str, Any], index: int, key: str) -> datetime:
    value = play.get(key)
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 40 else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise _invalid(index, key, "an ISO 8601 time with its offset (e.g. 2024-06-05T08:00:00Z)")
    if not EARLIEST <= moment <= LATEST:
        raise _invalid(index, key, "a time between the years 2000 and 2100")
    return moment


def parse_plays(body: dict[str, Any]) -> list[Play]:
    """Every play of a batch checked, or ValidationFailed naming the first bad field."""
    plays = body.get("plays")
    if not isinstance(plays, list):
        raise ValidationFailed("plays must be a list of plays.", code="field_invalid", key="plays")
    if len(plays) > MAX_PLAYS:
        raise ValidationFailed("At most %(limit)d plays in one batch.", code="batch_too_large", limit=MAX_PLAYS)
    parsed = []
    for index, play in enumerate(plays):
        if not isinstance(play, dict):
            raise _invalid(index, "", "each play is a JSON object")
        raw_id = play.get("event_id")
        try:
            event_id = str(uuid.UUID(raw_id)) if isinstance(raw_id, str) and len(raw_id) <= 45 else ""
        except ValueError:
            event_id = ""
        if not event_id:
            raise _invalid(index, "event_id", "a uuid")
        started, ended = _instant(play, index, "start"), _instant(play, index, "end")
        if not started <= ended <= started + LONGEST_PLAY:
            raise _invalid(index, "end", "not before the start and at most 24 hours after it")
        frame_hash = play.get("frame_hash")
        if frame_hash is not None and (not isinstance(frame_hash, str) or not 0 < len(frame_hash) <= 128):
            raise _invalid(index, "frame_hash", "a string of at most 128 characters, or null")
        parsed.append(Play(event_id, _whole(play, index, "asset_id", 1), _whole(play, index, "manifest_version", 0),
                           started, ended, frame_hash))
    return parsed


def _names(screen: Screen, plays: list[Play]) -> dict[int, tuple[str, int | None, str]]:
    """(asset name, campaign id, campaign title) per asset: from the library, or for an asset no
    longer there, from the manifests the board played it from."""
    asset_ids = {p.asset_id for p in plays}
    found: dict[int, tuple[str, int | None]] = {row.id: (row.display_name, row.campaign_id) for row in db.session.execute(
        select(MediaAsset.id, MediaAsset.display_name, MediaAsset.campaign_id).where(MediaAsset.id.in_(asset_ids)))}
    missing = asset_ids - set(found)
    if missing:
        versions = {(screen.id, p.manifest_version) for p in plays if p.asset_id in missing}
        for body in db.session.scalars(select(Manifest.body).where(tuple_(Manifest.screen_id, Manifest.version).in_(versions))):
            for media in body.get("media", ()):
                if media["asset_id"] in missing:
                    found.setdefault(media["asset_id"], (media.get("name", ""), media.get("campaign_id")))
    titles = dict(db.session.execute(select(Campaign.id, Campaign.title).where(
        Campaign.id.in_({c for _n, c in found.values() if c is not None}))).all())
    return {asset_id: (name, campaign, titles.get(campaign, "") if campaign else "")
            for asset_id, (name, campaign) in found.items()}


# Assets each manifest names, by its content hash: a manifest's body (hundreds of KB for
# two days of a busy board) is read and parsed once per process, not once per batch.
_MEDIA_OF_CONTENT: OrderedDict[str, frozenset[int]] = OrderedDict()
_MEDIA_CACHE_SIZE = 4096


def _manifest_media(screen: Screen, plays: list[Play]) -> dict[int, set[int]]:
    """For each manifest version the plays name that we made for this board, the assets it names."""
    versions = {(screen.id, p.manifest_version) for p in plays}
    hashes = dict(db.session.execute(select(Manifest.version, Manifest.content_hash).where(
        tuple_(Manifest.screen_id, Manifest.version).in_(versions))).all())
    unknown = {version for version, digest in hashes.items() if digest not in _MEDIA_OF_CONTENT}
    if unknown:
        for version, digest, body in db.session.execute(select(Manifest.version, Manifest.content_hash, Manifest.body)
                                                        .where(Manifest.screen_id == screen.id,
                                                               Manifest.version.in_(unknown))):
            _MEDIA_OF_CONTENT[digest] = frozenset(m["asset_id"] for m in (body or {}).get("media", ()))
            while len(_MEDIA_OF_CONTENT) > _MEDIA_CACHE_SIZE:
                _MEDIA_OF_CONTENT.popitem(last=False)
    return {version: set(_MEDIA_OF_CONTENT.get(digest, ())) for version, digest in hashes.items()}


def _flags(registered: datetime, play: Play, known: bool, now: datetime, manifests: dict[int, set[int]]) -> list[str]:
    """What makes a play doubtful as evidence; the play is kept either way."""
    flags = []
    if play.started_at > now + CLOCK_SKEW or play.ended_at > now + CLOCK_SKEW or play.started_at < registered:
        flags.append("clock_skew")
    if not known:
        flags.append("unknown_asset")
    named = manifests.get(play.manifest_version)
    if named is None:
        flags.append("unknown_manifest")  # a version we never made for this board (or one since pruned)
    elif play.asset_id not in named:
        flags.append("not_in_manifest")  # the board showed something its manifest does not name
    return flags


def ingest_plays(screen: Screen, plays: list[Play], now: datetime, batch: SignedBatch | None = None) -> Ingested:
    """Store the plays not stored before for this board, with the signed batch they came
    in when one is given (and any of them is new); commits."""
    unique = list({p.event_id: p for p in reversed(plays)}.values())[::-1]  # the first of repeated uuids
    names = _names(screen, unique) if unique else {}
    manifests = _manifest_media(screen, unique) if unique else {}
    rows = []
    screen_id, code, screen_name, registered = screen.id, screen.code, screen.name, screen.created_at  # read once
    for play in unique:
        name, campaign_id, title = names.get(play.asset_id, ("", None, ""))
        rows.append({
            "screen_id": screen_id, "event_id": play.event_id, "asset_id": play.asset_id, "asset_name": name[:300],
            "campaign_id": campaign_id, "campaign_title": title[:2000], "screen_code": code,
            "screen_name": screen_name, "manifest_version": play.manifest_version, "started_at": play.started_at,
            "ended_at": play.ended_at, "frame_hash": play.frame_hash, "received_at": now,
            "flags": _flags(registered, play, play.asset_id in names, now, manifests),
        })
    stored: set[str] = set()
    on_postgresql = db.session.get_bind().dialect.name == "postgresql"
    if rows:
        # One batch at a time per board: the chain is extended in the order plays arrive.
        head = lock_head(screen.id)
        event_ids = [r["event_id"] for r in rows]
        def one_of(column: Any) -> Any:  # PostgreSQL: one array parameter, not an IN list of 1000 placeholders
            return column == any_(cast(event_ids, ARRAY(String))) if on_postgresql else column.in_(event_ids)

        known = set(db.session.scalars(select(PlaybackEvent.event_id).where(
            PlaybackEvent.screen_id == screen.id, one_of(PlaybackEvent.event_id))))
        if db.session.scalar(select(PlaylogArchive.id).where(PlaylogArchive.screen_id == screen.id).limit(1)):
            # Plays moved to an archive file stay stored: sent again, they are duplicates.
            known |= set(db.session.scalars(select(ArchivedPlay.event_id).where(
                ArchivedPlay.screen_id == screen.id, one_of(ArchivedPlay.event_id))))
        rows = [row for row in rows if row["event_id"] not in known]
        extend(head, rows, now)
    batch_id = _keep_batch(screen, batch, len(plays), len(rows), now) if rows and batch is not None else None
    for row in rows:
        row["batch_id"] = batch_id
    if rows:
        if on_postgresql:
            stored = _insert_from_json(screen, rows, now, batch_id)
        else:
            statement = (sqlite.insert(PlaybackEvent).on_conflict_do_nothing(index_elements=["screen_id", "event_id"])
                         .returning(PlaybackEvent.event_id))
            stored = set(db.session.scalars(statement, rows))
        record_plays(screen, (r for r in rows if r["event_id"] in stored))  # same transaction as the plays
        newest = max((r["ended_at"] for r in rows if r["event_id"] in stored and "clock_skew" not in r["flags"]),
                     default=None)
        if newest is not None:
            _saw_play(screen.id, newest)
    db.session.commit()
    new: list[str] = []
    duplicates: list[str] = []
    for play in plays:  # a uuid repeated inside the batch is new once, then a duplicate
        if play.event_id in stored:
            stored.discard(play.event_id)
            new.append(play.event_id)
        else:
            duplicates.append(play.event_id)
    return Ingested(new, duplicates)


# The batch travels as one JSON parameter, so the statement text is the same for every
# batch and the rows are encoded by the json module's C encoder. (A multi-row VALUES list
# of 16 placeholders a play made psycopg parse a new statement of up to 16,000
# placeholders for every batch, most of ingestion's time; one array per column still
# spent a third of it escaping the array elements one by one.)
_INSERT_FROM_JSON = text("""
INSERT INTO playback_events (screen_id, event_id, asset_id, asset_name, campaign_id, campaign_title, screen_code,
                             screen_name, manifest_version, started_at, ended_at, frame_hash, received_at, flags,
                             chain_seq, chain_hash, batch_id)
SELECT CAST(:screen_id AS integer), p.event_id, p.asset_id, p.asset_name, p.campaign_id, p.campaign_title,
       CAST(:screen_code AS varchar), CAST(:screen_name AS varchar), p.manifest_version, p.started_at, p.ended_at,
       p.frame_hash, CAST(:received_at AS timestamptz), p.flags, p.chain_seq, p.chain_hash, CAST(:batch_id AS integer)
FROM json_to_recordset(CAST(:plays AS json))
     AS p(event_id varchar, asset_id integer, asset_name varchar, campaign_id integer, campaign_title varchar,
          manifest_version integer, started_at timestamptz, ended_at timestamptz, frame_hash varchar, flags json,
          chain_seq integer, chain_hash varchar)
ORDER BY p.chain_seq
ON CONFLICT (screen_id, event_id) DO NOTHING
RETURNING event_id
""")
_PER_PLAY = ("event_id", "asset_id", "asset_name", "campaign_id", "campaign_title", "manifest_version", "frame_hash",
             "flags", "chain_seq", "chain_hash")


def _insert_from_json(screen: Screen, rows: list[dict[str, Any]], now: datetime, batch_id: int | None) -> set[str]:
    """PostgreSQL: INSERT … ON CONFLICT DO NOTHING of the rows in one statement; the uuids stored."""
    plays = json.dumps([{key: row[key] for key in _PER_PLAY} | {
        "started_at": row["started_at"].isoformat(), "ended_at": row["ended_at"].isoformat()} for row in rows])
    return set(db.session.scalars(_INSERT_FROM_JSON, {
        "plays": plays, "screen_id": screen.id, "screen_code": screen.code, "screen_name": screen.name,
        "received_at": now, "batch_id": batch_id}))


def key_fingerprint(key_hex: str) -> str:
    """Names a board key without revealing it: which key signed a kept batch."""
    return hashlib.sha256(b"panoled-key-fingerprint:" + key_hex.encode("ascii")).hexdigest()[:16]


def _keep_batch(screen: Screen, batch: SignedBatch, plays: int, new: int, now: datetime) -> int:
    return db.session.execute(insert(PlaylogBatch).values(
        screen_id=screen.id, received_at=now, signed_at=batch.signed_at, signature=batch.signature,
        key_fingerprint=key_fingerprint(batch.key), body_sha256=hashlib.sha256(batch.body).hexdigest(),
        body=gzip.compress(batch.body, 6), plays=plays, stored=new).returning(PlaylogBatch.id)).scalar_one()


def _saw_play(screen_id: int, ended_at: datetime) -> None:
    """The board's last play seen moves up only (late plays arrive weeks after newer ones)."""
    from cms.services.board_health import upsert

    upsert(BoardHealth, {"screen_id": screen_id}, {"last_play_at": ended_at}, {"last_play_at": case(
        (BoardHealth.last_play_at.is_(None), ended_at), (BoardHealth.last_play_at < ended_at, ended_at),
        else_=BoardHealth.last_play_at)})
