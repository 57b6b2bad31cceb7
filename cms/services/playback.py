"""Playback evidence: the plays boards report, stored exactly once each.

A batch is checked whole before anything is stored, so a bad play refuses the
batch and changes nothing. Batches of one board are stored one at a time (the
board's chain head is locked), and (board, event uuid) is unique: a batch is
first inserted whole in a savepoint; if any of its plays was stored before (a
batch sent again, or the same batch sent twice at once), the savepoint is undone
and the batch is chained and stored again without them. The answer says which
plays were new. Late and out-of-order plays keep their true times; plays in the
future or from before the board was registered are kept and flagged as clock skew.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import re
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import String, and_, case, cast, func, insert, select, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError

from cms.errors import ValidationFailed
from cms.extensions import db
from cms.services.play_stats import record_plays
from cms.services.playlog_chain import Head, extend, lock_head
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
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Play(NamedTuple):  # a tuple: ingestion makes up to 1000 a batch, and a frozen dataclass is slow to make
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


def _text(value: Any, longest: int) -> bool:
    """A non-empty string of at most `longest` characters that a database can store (no NUL,
    no lone surrogate)."""
    if not isinstance(value, str) or not 0 < len(value) <= longest or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
        if isinstance(raw_id, str) and _CANONICAL_UUID.fullmatch(raw_id):
            event_id = raw_id  # as boards send them: already what str(uuid.UUID(…)) would give
        else:
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
        if frame_hash is not None and not _text(frame_hash, 128):
            raise _invalid(index, "frame_hash", "a string of at most 128 characters, or null")
        parsed.append(Play(event_id, _whole(play, index, "asset_id", 1), _whole(play, index, "manifest_version", 0),
                           started, ended, frame_hash))
    return parsed


def _read(statement: Any) -> Any:
    """A plain read on the session's connection: ingestion's per-batch queries skip the ORM's handling."""
    return db.session.connection().execute(statement)


def _names(screen: Screen, plays: list[Play]) -> dict[int, tuple[str, int | None, str]]:
    """(asset name, campaign id, campaign title) per asset: from the library, or for an asset no
    longer there, from the manifests the board played it from."""
    asset_ids = {p.asset_id for p in plays}
    found = {row.id: (row.display_name, row.campaign_id, row.title or "") for row in _read(
        select(MediaAsset.id, MediaAsset.display_name, MediaAsset.campaign_id, Campaign.title)
        .outerjoin(Campaign, Campaign.id == MediaAsset.campaign_id).where(MediaAsset.id.in_(asset_ids)))}
    missing = asset_ids - set(found)
    if missing:
        named: dict[int, tuple[str, int | None]] = {}
        versions = {(screen.id, p.manifest_version) for p in plays if p.asset_id in missing}
        for body in db.session.scalars(select(Manifest.body).where(tuple_(Manifest.screen_id, Manifest.version).in_(versions))):
            for media in body.get("media", ()):
                if media["asset_id"] in missing:
                    named.setdefault(media["asset_id"], (media.get("name", ""), media.get("campaign_id")))
        titles = dict(db.session.execute(select(Campaign.id, Campaign.title).where(
            Campaign.id.in_({c for _n, c in named.values() if c is not None}))).all())
        found |= {asset_id: (name, campaign, titles.get(campaign, "") if campaign else "")
                  for asset_id, (name, campaign) in named.items()}
    return found


# Assets each manifest names, by its content hash: a manifest's body (hundreds of KB for
# two days of a busy board) is read and parsed once per process, not once per batch.
_MEDIA_OF_CONTENT: OrderedDict[str, frozenset[int]] = OrderedDict()
_MEDIA_CACHE_SIZE = 4096


def _manifest_media(screen: Screen, plays: list[Play]) -> dict[int, set[int]]:
    """For each manifest version the plays name that we made for this board, the assets it names."""
    versions = {(screen.id, p.manifest_version) for p in plays}
    hashes = dict(_read(select(Manifest.version, Manifest.content_hash).where(
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
    db.session.flush()  # the reads below go straight to the connection, past the session's autoflush
    unique = list({p.event_id: p for p in reversed(plays)}.values())[::-1]  # the first of repeated uuids
    names = _names(screen, unique) if unique else {}
    manifests = _manifest_media(screen, unique) if unique else {}
    rows = []
    screen_id, code, screen_name, registered = screen.id, screen.code, screen.name, screen.created_at  # read once
    for play in unique:
        name, campaign_id, title = names.get(play.asset_id, ("", None, ""))
        rows.append({
            "screen_id": screen_id, "event_id": play.event_id, "asset_id": play.asset_id, "asset_name": name[:300],
            "campaign_id": campaign_id, "campaign_title": title[:2000], "manifest_version": play.manifest_version,
            "started_at": play.started_at, "ended_at": play.ended_at, "frame_hash": play.frame_hash,
            "flags": _flags(registered, play, play.asset_id in names, now, manifests),
        })
    stored: list[dict[str, Any]] = []
    if rows:
        # One batch at a time per board: the chain is extended in the order plays arrive.
        head = lock_head(screen_id)
        event_ids = [row["event_id"] for row in rows]
        archived = _archived(screen_id, event_ids)
        fresh = [row for row in rows if row["event_id"] not in archived]
        try:
            # Most batches bring only new plays: they are chained and inserted as they are, and the
            # unique (board, uuid) key refuses the whole insert if any was stored before.
            with db.session.begin_nested():
                stored = _store(screen, head, fresh, now, batch, len(plays), on_conflict=False)
        except IntegrityError as error:
            if not _stored_twice(error):
                raise
            # Some were (a batch sent again): the chain must skip them, so it is made again
            # without them, still under the board's lock.
            seen = _stored_before(screen_id, event_ids)
            stored = _store(screen, head, [row for row in fresh if row["event_id"] not in seen], now, batch,
                            len(plays), on_conflict=True)
        record_plays(screen, stored)  # same transaction as the plays
        newest = max((row["ended_at"] for row in stored if "clock_skew" not in row["flags"]), default=None)
        if newest is not None:
            _saw_play(screen_id, newest)
    db.session.commit()
    new_ids = {row["event_id"] for row in stored}
    new: list[str] = []
    duplicates: list[str] = []
    for play in plays:  # a uuid repeated inside the batch is new once, then a duplicate
        if play.event_id in new_ids:
            new_ids.discard(play.event_id)
            new.append(play.event_id)
        else:
            duplicates.append(play.event_id)
    return Ingested(new, duplicates)


def _stored_twice(error: IntegrityError) -> bool:
    """Whether the error is the (board, uuid) key refusing a play stored before."""
    constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None)  # PostgreSQL names it
    return constraint == "uq_playback_events_screen_event" or (
        constraint is None and "playback_events.screen_id, playback_events.event_id" in str(error.orig))


def _on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _archived(screen_id: int, event_ids: list[str]) -> set[str]:
    """The plays among these moved to an archive file: stored, so duplicates if sent again."""
    if _read(select(PlaylogArchive.id).where(PlaylogArchive.screen_id == screen_id).limit(1)).first() is None:
        return set()
    return _among(ArchivedPlay, screen_id, event_ids)


def _stored_before(screen_id: int, event_ids: list[str]) -> set[str]:
    """The plays among these already stored for the board."""
    return _among(PlaybackEvent, screen_id, event_ids)


def _among(model: Any, screen_id: int, event_ids: list[str]) -> set[str]:
    """Which of these uuids the table holds for the board, each looked up through its
    (board, uuid) key: a filter over all of the board's rows would grow with its history."""
    if _on_postgresql():  # one array parameter, not an IN list of 1000 placeholders
        wanted = func.unnest(cast(event_ids, ARRAY(String))).table_valued("event_id").render_derived(name="wanted")
        return set(db.session.scalars(select(model.event_id).join(wanted, and_(
            model.screen_id == screen_id, model.event_id == wanted.c.event_id))))
    return set(db.session.scalars(select(model.event_id).where(model.screen_id == screen_id,
                                                               model.event_id.in_(event_ids))))


def _store(screen: Screen, head: Head, rows: list[dict[str, Any]], now: datetime, batch: SignedBatch | None,
           sent: int, on_conflict: bool) -> list[dict[str, Any]]:
    """Chain and insert the rows, with the signed batch they came in; the rows stored (all of
    them, or with `on_conflict` those not stored before)."""
    if not rows:
        return []
    extend(head, rows, now)
    batch_id = _keep_batch(screen, batch, sent, len(rows), now) if batch is not None else None
    if _on_postgresql():
        returned = _insert_from_json(screen, rows, now, batch_id, on_conflict)
    else:
        statement = sqlite.insert(PlaybackEvent)
        if on_conflict:
            statement = statement.on_conflict_do_nothing(index_elements=["screen_id", "event_id"])
        common = {"screen_code": screen.code, "screen_name": screen.name, "received_at": now, "batch_id": batch_id}
        returned = set(db.session.scalars(statement.returning(PlaybackEvent.event_id),
                                          [{key: row[key] for key in _COLUMNS} | common for row in rows]))
    if not on_conflict:
        return rows
    return [row for row in rows if row["event_id"] in returned]


_COLUMNS = ("screen_id", "event_id", "asset_id", "asset_name", "campaign_id", "campaign_title", "manifest_version",
            "started_at", "ended_at", "frame_hash", "flags", "chain_seq", "chain_hash")


# The batch travels as one JSON parameter, so the statement text is the same for every
# batch and the rows are encoded by the json module's C encoder. (A multi-row VALUES list
# of 16 placeholders a play made psycopg parse a new statement of up to 16,000
# placeholders for every batch, most of ingestion's time; one array per column still
# spent a third of it escaping the array elements one by one.)
_INSERT_FROM_JSON = """
INSERT INTO playback_events (screen_id, event_id, asset_id, asset_name, campaign_id, campaign_title, screen_code,
                             screen_name, manifest_version, started_at, ended_at, frame_hash, received_at, flags,
                             chain_seq, chain_hash, batch_id)
SELECT CAST(:screen_id AS integer), p.event_id, p.asset_id, p.asset_name, p.campaign_id, p.campaign_title,
       CAST(:screen_code AS varchar), CAST(:screen_name AS varchar), p.manifest_version, p.start_text, p.end_text,
       p.frame_hash, CAST(:received_at AS timestamptz), p.flags, p.chain_seq, p.chain_hash, CAST(:batch_id AS integer)
FROM json_to_recordset(CAST(:plays AS json))
     AS p(event_id varchar, asset_id integer, asset_name varchar, campaign_id integer, campaign_title varchar,
          manifest_version integer, start_text timestamptz, end_text timestamptz, frame_hash varchar, flags json,
          chain_seq integer, chain_hash varchar)
ORDER BY p.chain_seq
"""
_INSERT_NEW = text(_INSERT_FROM_JSON)
_INSERT_UNLESS_STORED = text(_INSERT_FROM_JSON + "ON CONFLICT (screen_id, event_id) DO NOTHING RETURNING event_id")


def _unread(_value: Any) -> None:
    return None


def _insert_from_json(screen: Screen, rows: list[dict[str, Any]], now: datetime, batch_id: int | None,
                      on_conflict: bool) -> set[str]:
    """PostgreSQL: the rows in one INSERT (… ON CONFLICT DO NOTHING with `on_conflict`: the uuids stored)."""
    # The rows go as they are: json_to_recordset takes the keys it names and ignores the rest
    # (their datetimes, written as null: it reads the ISO texts the chain made).
    parameters = {"plays": json.dumps(rows, default=_unread),
                  "screen_id": screen.id, "screen_code": screen.code, "screen_name": screen.name,
                  "received_at": now, "batch_id": batch_id}
    if on_conflict:
        return set(db.session.scalars(_INSERT_UNLESS_STORED, parameters))
    db.session.execute(_INSERT_NEW, parameters)
    return set()


def key_fingerprint(key_hex: str) -> str:
    """Names a board key without revealing it: which key signed a kept batch."""
    return hashlib.sha256(b"panoled-key-fingerprint:" + key_hex.encode("ascii")).hexdigest()[:16]


_KEEP_BATCH = insert(PlaylogBatch.__table__).returning(PlaylogBatch.__table__.c.id)


def _keep_batch(screen: Screen, batch: SignedBatch, plays: int, new: int, now: datetime) -> int:
    return db.session.connection().execute(_KEEP_BATCH, {
        "screen_id": screen.id, "received_at": now, "signed_at": batch.signed_at, "signature": batch.signature,
        "key_fingerprint": key_fingerprint(batch.key), "body_sha256": hashlib.sha256(batch.body).hexdigest(),
        "body": gzip.compress(batch.body, 3), "plays": plays, "stored": new}).scalar_one()


@cache
def _last_play_upsert(dialect_name: str) -> Any:
    """The board's last play seen moves up only (late plays arrive weeks after newer ones)."""
    health = BoardHealth.__table__
    statement = (postgresql if dialect_name == "postgresql" else sqlite).insert(health)
    return statement.on_conflict_do_update(index_elements=["screen_id"], set_={"last_play_at": case(
        (health.c.last_play_at.is_(None), statement.excluded.last_play_at),
        (health.c.last_play_at < statement.excluded.last_play_at, statement.excluded.last_play_at),
        else_=health.c.last_play_at)})


def _saw_play(screen_id: int, ended_at: datetime) -> None:
    db.session.connection().execute(_last_play_upsert(db.session.get_bind().dialect.name),
                                    {"screen_id": screen_id, "last_play_at": ended_at})
