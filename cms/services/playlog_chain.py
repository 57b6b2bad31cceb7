"""Tamper evidence for playback logs: an append-only chain per board.

At ingestion every new play gets the next place (`chain_seq`) in its board's chain
and `chain_hash = HMAC(secret key, previous hash + canonical play)`. The key is
the app's secret key, kept outside the database, so whoever can only write the
database cannot mend the chain after changing a play. Each board's head (count
and last hash) and its head at the end of every day it received plays are kept.
`verify` recomputes a board's chain and names the first altered, missing or
inserted entry. Plays moved to archive files (cms.services.playlog_archive) leave a
PlaylogArchive row behind: verification online starts from the last archive's hash.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from json.encoder import encode_basestring_ascii as _json_string  # what json.dumps(a str) returns
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from cms.extensions import db
from cms.models import PlaybackEvent, PlaylogArchive, PlaylogChain, PlaylogChainDay, PlaylogCheck, Screen

GENESIS = "0" * 64
VERIFY_SLICE = 5_000


def canonical(row: dict[str, Any]) -> bytes:
    """The play as the chain covers it: what the board reported, and for which board.

    Exactly `json.dumps` of those seven keys with sorted keys and no spaces (the form
    every stored chain was made with), written out directly because ingestion makes
    one for every play: the ids are integers and the instants ISO strings, which
    JSON does not escape; the strings go through the encoder `json.dumps` itself
    uses for a string."""
    return _canonical(row, instant_text(row["started_at"]), instant_text(row["ended_at"]))


def _canonical(row: dict[str, Any], start: str, end: str) -> bytes:
    frame_hash, event_id = row["frame_hash"], row["event_id"]
    return (f'{{"asset_id":{int(row["asset_id"])},"end":"{end}","event_id":{_json(event_id)},'
            f'"frame_hash":{"null" if frame_hash is None else _json(frame_hash)},'
            f'"manifest_version":{int(row["manifest_version"])},"screen_id":{int(row["screen_id"])},'
            f'"start":"{start}"}}').encode("utf-8")


def _json(value: Any) -> str:
    # A str (always, from ingestion or the database) through the encoder json.dumps uses for
    # one; anything else (a tampered archive line) through json.dumps itself.
    return _json_string(value) if isinstance(value, str) else json.dumps(value)


def instant_text(value: datetime) -> str:
    """An instant as the chain writes it: UTC, ISO 8601, to the microsecond."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_by_json(row: dict[str, Any]) -> bytes:
    """`canonical` the long way, which it must equal byte for byte (tests compare them)."""
    return json.dumps({
        "screen_id": row["screen_id"], "event_id": row["event_id"], "asset_id": row["asset_id"],
        "manifest_version": row["manifest_version"], "start": instant_text(row["started_at"]),
        "end": instant_text(row["ended_at"]), "frame_hash": row["frame_hash"],
    }, sort_keys=True, separators=(",", ":")).encode("utf-8")


def link(previous: str, row: dict[str, Any], key: bytes | None = None) -> str:
    key = key if key is not None else current_app.config["SECRET_KEY"].encode("utf-8")
    return _link(key, previous, canonical(row))


def _link(key: bytes, previous: str, play: bytes) -> str:
    return hmac.new(key, previous.encode("ascii") + b"\n" + play, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Head:
    """A board's chain head as ingestion found it, locked for the transaction."""

    screen_id: int
    seq: int
    head_hash: str


_CHAINS = PlaylogChain.__table__
_CHAIN_DAYS = PlaylogChainDay.__table__


@cache
def _head_statements(dialect_name: str) -> tuple[Any, Any, Any]:
    """(lock, move, day) statements, built once: ingestion runs them for every batch."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    lock = dialect.insert(_CHAINS)
    if dialect is postgresql:
        # One round trip: an upsert that changes nothing still locks the row it meets, and returns it.
        lock = lock.on_conflict_do_update(index_elements=["screen_id"], set_={"screen_id": lock.excluded.screen_id})
    else:
        lock = lock.on_conflict_do_nothing(index_elements=["screen_id"])  # SQLite: the write takes the write lock
    lock = lock.returning(_CHAINS.c.seq, _CHAINS.c.head_hash)
    move = (update(_CHAINS).where(_CHAINS.c.screen_id == bindparam("board"))
            .values(seq=bindparam("to_seq"), head_hash=bindparam("to_hash"), updated_at=bindparam("now")))
    day = dialect.insert(_CHAIN_DAYS)
    day = day.on_conflict_do_update(index_elements=["screen_id", "day"],
                                    set_={"seq": day.excluded.seq, "head_hash": day.excluded.head_hash})
    return lock, move, day


def _dialect_name() -> str:
    return db.session.get_bind().dialect.name


def lock_head(screen_id: int) -> Head:
    """The board's chain head, locked for this transaction so batches chain one after another."""
    lock, _move, _day = _head_statements(_dialect_name())
    connection = db.session.connection()
    row = connection.execute(lock, {"screen_id": screen_id, "seq": 0, "head_hash": GENESIS,
                                    "updated_at": datetime.now(UTC)}).first()
    if row is None:  # SQLite: the head was there already (the insert did nothing, but holds the write lock)
        row = connection.execute(select(_CHAINS.c.seq, _CHAINS.c.head_hash)
                                 .where(_CHAINS.c.screen_id == screen_id)).one()
    return Head(screen_id, row.seq, row.head_hash)


def extend(head: Head, rows: list[dict[str, Any]], now: datetime) -> None:
    """Give the new rows their places and hashes (and their instants as the chain wrote them,
    `start_text` and `end_text`, for the insert to reuse), and move the head and today's head on."""
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    seq, previous = head.seq, head.head_hash
    for row in rows:
        seq += 1
        start, end = instant_text(row["started_at"]), instant_text(row["ended_at"])
        previous = _link(key, previous, _canonical(row, start, end))
        row["chain_seq"], row["chain_hash"], row["start_text"], row["end_text"] = seq, previous, start, end
    _lock, move, day = _head_statements(_dialect_name())
    connection = db.session.connection()
    connection.execute(move, {"board": head.screen_id, "to_seq": seq, "to_hash": previous, "now": now})
    connection.execute(day, {"screen_id": head.screen_id, "day": now.astimezone(UTC).date(), "seq": seq,
                             "head_hash": previous})


@dataclass(frozen=True)
class Problem:
    kind: str  # altered | missing | inserted | truncated
    seq: int | None
    event_id: str | None
    detail: str


@dataclass(frozen=True)
class ChainReport:
    screen_id: int
    screen_code: str
    entries: int
    head_seq: int
    head_hash: str
    problem: Problem | None
    archived: int = 0  # entries 1..archived are in archive files, not in the database
    batches_checked: int = 0  # signed batches whose board signature was re-checked
    batches_earlier_key: int = 0  # signed with a board key rotated since: compared, signature not re-checkable
    checked_from: int = 0  # entries up to this one were taken from the last verification (0 or `archived`: all checked)
    whole_checked_at: datetime | None = None  # when the whole chain was last found intact

    @property
    def ok(self) -> bool:
        return self.problem is None


def archived_start(screen_id: int, archives: Iterable[PlaylogArchive] | None = None) -> tuple[int, str, Problem | None]:
    """Where the chain online starts: (last archived seq, its hash), and a problem if the
    board's archives (read here unless given, in order) do not follow one another."""
    seq, previous = 0, GENESIS
    if archives is None:
        archives = db.session.scalars(select(PlaylogArchive).where(PlaylogArchive.screen_id == screen_id)
                                      .order_by(PlaylogArchive.from_seq))
    for archive in archives:
        if archive.from_seq != seq + 1 or archive.prev_hash != previous or archive.to_seq < archive.from_seq:
            return seq, previous, Problem("missing", seq + 1, None,
                                          f"the archives do not follow one another at entry {seq + 1} "
                                          f"(archive {archive.file_name} starts at {archive.from_seq})")
        seq, previous = archive.to_seq, archive.last_hash
    return seq, previous, None


def verify(screen: Screen, since_last_check: bool = False, now: datetime | None = None) -> ChainReport:
    """Recompute the board's chain from its stored plays, starting after its last archive
    (or, with `since_last_check`, after the entry the last verification reached, whose
    stored hash must still be the one it saw); the first problem found, if any. A chain
    found intact moves the board's check mark (PlaylogCheck) to its head."""
    now = now or datetime.now(UTC)
    head = db.session.get(PlaylogChain, screen.id)
    head_seq, head_hash = (head.seq, head.head_hash) if head else (0, GENESIS)
    columns = (PlaybackEvent.event_id, PlaybackEvent.asset_id, PlaybackEvent.manifest_version, PlaybackEvent.started_at,
               PlaybackEvent.ended_at, PlaybackEvent.frame_hash, PlaybackEvent.chain_seq, PlaybackEvent.chain_hash,
               PlaybackEvent.batch_id)
    batches = _SignedBatches(screen)
    unchained = db.session.execute(select(PlaybackEvent.event_id).where(
        PlaybackEvent.screen_id == screen.id, PlaybackEvent.chain_seq.is_(None)).limit(1)).first()
    archived, previous, problem = archived_start(screen.id)
    mark = db.session.get(PlaylogCheck, screen.id)
    start = archived
    if since_last_check and problem is None and mark is not None and archived <= mark.seq <= head_seq:
        kept = db.session.scalar(select(PlaybackEvent.chain_hash).where(
            PlaybackEvent.screen_id == screen.id, PlaybackEvent.chain_seq == mark.seq)) if mark.seq > archived else previous
        if kept != mark.chain_hash:
            problem = Problem("altered", mark.seq, None, "the entry the last verification reached has changed")
        start, previous = mark.seq, mark.chain_hash
    expected, count = start + 1, 0
    # Streamed in slices (a server-side cursor on PostgreSQL): a board may hold millions of plays.
    rows = db.session.execute(select(*columns).where(PlaybackEvent.screen_id == screen.id,
                                                     PlaybackEvent.chain_seq > start)
                              .order_by(PlaybackEvent.chain_seq, PlaybackEvent.id)
                              .execution_options(yield_per=VERIFY_SLICE))
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    names = [column.key for column in columns]
    for row in rows if problem is None else ():
        count += 1
        entry = dict(zip(names, row), screen_id=screen.id)
        if entry["chain_seq"] <= archived:
            problem = Problem("inserted", entry["chain_seq"], entry["event_id"], "an entry already in an archive file")
            break
        if entry["chain_seq"] < expected:
            problem = Problem("inserted", entry["chain_seq"], entry["event_id"], "a second entry at this place in the chain")
            break
        if entry["chain_seq"] > expected:
            problem = Problem("missing", expected, None, f"entries {expected} to {entry['chain_seq'] - 1} are gone")
            break
        recomputed = link(previous, entry, key)
        if not hmac.compare_digest(recomputed, entry["chain_hash"] or ""):
            problem = Problem("altered", expected, entry["event_id"], "the play differs from what was chained")
            break
        if entry["batch_id"] is not None and (differs := batches.differs(entry)):
            problem = Problem("altered", expected, entry["event_id"], differs)
            break
        previous, expected = recomputed, expected + 1
    rows.close()  # after a break, too: the server-side cursor goes now, not when collected
    if problem is None and unchained is not None:
        problem = Problem("inserted", None, unchained[0], "a play that did not come in through ingestion")
    if problem is None and (expected - 1 != head_seq or previous != head_hash):
        problem = Problem("truncated", expected, None, f"the chain ends at {expected - 1}, its head says {head_seq}")
    whole_checked_at = mark.whole_checked_at if mark is not None else None
    if problem is None:
        whole = start == archived
        _mark(screen.id, head_seq, head_hash, now, whole)
        whole_checked_at = now if whole else whole_checked_at
        if mark is not None:
            db.session.expire(mark)  # written by the statement above, not through this object
    elif mark is not None:
        # Not intact: nothing may be taken as checked until a full verification says so.
        mark.whole_checked_at = whole_checked_at = None
    return ChainReport(screen.id, screen.code, count, head_seq, head_hash, problem, archived, batches.checked,
                       batches.earlier_key, start, whole_checked_at)


def verify_many(screens: Collection[Screen], since_last_check: bool = False,
                now: datetime | None = None) -> dict[int, ChainReport]:
    """`verify` for many boards, by screen id. With `since_last_check`, a board whose chain has
    not moved since its last verification (its head is the mark, the entry the mark names
    still holds the mark's hash, nothing after it or outside the chain, its archives in
    order and not past it) is answered from a few queries for all the boards at once, and
    its mark is left as it is; the others are verified one by one."""
    now = now or datetime.now(UTC)
    ids = [screen.id for screen in screens]
    settled = _unmoved(ids) if since_last_check and ids else {}
    reports = {}
    for screen in screens:
        unmoved = settled.get(screen.id)
        if unmoved is None:
            reports[screen.id] = verify(screen, since_last_check, now)
            continue
        mark, archived = unmoved
        # A chain held in archives up to its mark is whole as soon as they are in order.
        whole_checked_at = now if mark.seq == archived else mark.whole_checked_at
        reports[screen.id] = ChainReport(screen.id, screen.code, 0, mark.seq, mark.chain_hash, None, archived,
                                         checked_from=mark.seq, whole_checked_at=whole_checked_at)
    return reports


def _unmoved(ids: list[int]) -> dict[int, tuple[PlaylogCheck, int]]:
    """{screen id: (its check mark, its last archived entry)} for the boards whose chain has not
    moved since the mark was set (see verify_many)."""
    marks = {m.screen_id: m for m in db.session.scalars(select(PlaylogCheck).where(PlaylogCheck.screen_id.in_(ids)))}
    heads = {i: (seq, head) for i, seq, head in db.session.execute(select(
        PlaylogChain.screen_id, PlaylogChain.seq, PlaylogChain.head_hash).where(PlaylogChain.screen_id.in_(ids)))}
    candidates = {i for i, m in marks.items() if heads.get(i, (0, GENESIS)) == (m.seq, m.chain_hash)}
    if not candidates:
        return {}
    at_mark = (PlaybackEvent.screen_id == PlaylogCheck.screen_id) & (PlaybackEvent.chain_seq == PlaylogCheck.seq)
    stored = dict(db.session.execute(select(PlaybackEvent.screen_id, PlaybackEvent.chain_hash).join(PlaylogCheck, at_mark)
                                     .where(PlaylogCheck.screen_id.in_(candidates))).all())
    beyond = (PlaybackEvent.screen_id == PlaylogCheck.screen_id) & (PlaybackEvent.chain_seq > PlaylogCheck.seq)
    moved = set(db.session.scalars(select(PlaylogCheck.screen_id).where(
        PlaylogCheck.screen_id.in_(candidates), select(PlaybackEvent.id).where(beyond).exists())))
    moved |= set(db.session.scalars(select(PlaybackEvent.screen_id).where(
        PlaybackEvent.screen_id.in_(candidates), PlaybackEvent.chain_seq.is_(None)).distinct()))
    archives: dict[int, list[PlaylogArchive]] = {}
    for archive in db.session.scalars(select(PlaylogArchive).where(PlaylogArchive.screen_id.in_(candidates))
                                      .order_by(PlaylogArchive.screen_id, PlaylogArchive.from_seq)):
        archives.setdefault(archive.screen_id, []).append(archive)
    settled = {}
    for screen_id in candidates - moved:
        mark = marks[screen_id]
        archived, previous, problem = archived_start(screen_id, archives.get(screen_id, []))
        kept = stored.get(screen_id) if mark.seq > archived else previous
        if problem is None and archived <= mark.seq and kept == mark.chain_hash:
            settled[screen_id] = (mark, archived)
    return settled


def _mark(screen_id: int, seq: int, chain_hash: str, now: datetime, whole: bool) -> None:
    """The board's check mark moved to `seq` in one statement, made when missing: two reports
    checking the same board at once (two people on the report page) both succeed."""
    from cms.services.board_health import upsert

    moved = {"seq": seq, "chain_hash": chain_hash, "checked_at": now} | ({"whole_checked_at": now} if whole else {})
    upsert(PlaylogCheck, {"screen_id": screen_id}, {"whole_checked_at": None} | moved, moved)


class _SignedBatches:
    """The batches a board signed, each read once: its signature re-checked against its body
    (when the board's key has not been rotated since), and each play compared with it."""

    def __init__(self, screen: Screen) -> None:
        from cms.services.playback import key_fingerprint

        self.screen, self.fingerprint = screen, key_fingerprint(screen.signing_key) if screen.signing_key else ""
        self.checked = self.earlier_key = 0
        self._id: int | None = None
        self._plays: dict[str, Any] = {}
        self._problem = ""

    def differs(self, entry: dict[str, Any]) -> str:
        """Why the play does not match the batch the board signed, or ""."""
        if entry["batch_id"] != self._id:
            self._load(entry["batch_id"])
        if self._problem:
            return self._problem
        sent = self._plays.get(entry["event_id"])
        if sent is None:
            return f"the play is not in the batch the board signed (batch {self._id})"
        if (sent.asset_id, sent.manifest_version, sent.started_at, sent.ended_at, sent.frame_hash) != (
                entry["asset_id"], entry["manifest_version"], entry["started_at"], entry["ended_at"], entry["frame_hash"]):
            return f"the play differs from what the board signed (batch {self._id})"
        return ""

    def _load(self, batch_id: int) -> None:
        import gzip

        from cms.models import PlaylogBatch
        from cms.services.playback import parse_plays
        from display_adapters.signing import sign

        self._id, self._plays, self._problem = batch_id, {}, ""
        batch = db.session.get(PlaylogBatch, batch_id)
        if batch is None or batch.screen_id != self.screen.id:
            self._problem = f"the batch the board signed is gone (batch {batch_id})"
            return
        body = gzip.decompress(batch.body)
        if hashlib.sha256(body).hexdigest() != batch.body_sha256:
            self._problem = f"the batch the board signed was altered (batch {batch_id})"
            return
        if batch.key_fingerprint == self.fingerprint:
            if not hmac.compare_digest(sign(self.screen.signing_key, batch.signed_at, body), batch.signature):
                self._problem = f"the board's signature does not match its batch (batch {batch_id})"
                return
            self.checked += 1
        else:
            self.earlier_key += 1  # signed with a key since rotated: the body is compared, the signature cannot be
        self._plays = {play.event_id: play for play in parse_plays(json.loads(body))}


def verify_stale(older_than: datetime, stop: Any = None) -> Iterator[ChainReport]:
    """Verify whole, one board at a time (committing each board's mark), every chain not
    found intact since `older_than`; `stop` (an Event) ends the round early."""
    stale = or_(PlaylogCheck.screen_id.is_(None), PlaylogCheck.whole_checked_at.is_(None),
                PlaylogCheck.whole_checked_at < older_than)
    ids = list(db.session.scalars(select(Screen.id).outerjoin(PlaylogCheck, PlaylogCheck.screen_id == Screen.id)
                                  .join(PlaylogChain, PlaylogChain.screen_id == Screen.id).where(stale)
                                  .order_by(Screen.id)))
    for screen_id in ids:
        if stop is not None and stop.is_set():
            return
        screen = db.session.get(Screen, screen_id)
        if screen is not None:
            report = verify(screen)
            db.session.commit()
            yield report


def verify_all(screen_id: int | None = None) -> list[ChainReport]:
    query = select(Screen).order_by(Screen.id)
    if screen_id is not None:
        query = query.where(Screen.id == screen_id)
    return [verify(screen) for screen in db.session.scalars(query)]
