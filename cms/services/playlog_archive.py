"""Retention: a board's oldest plays moved out of the database into compressed files that
stay verifiable.

Plays are chained per board in arrival order (cms.services.playlog_chain), so what
leaves the database is always a prefix of the chain: entries from_seq..to_seq, right
after the board's previous archive, all started before the cut-off. A late play with
an old start time but a high place in the chain waits online for a later run.

One gzip-compressed JSON-lines file per board per run: a header line (board, the run
of the chain, the hash before it and at its end, the daily heads it covers, and a
MAC over the header), then one line per play with every stored column. The file is
written under a temporary name, synced, renamed, read back and re-verified before
anything is deleted; then the plays are deleted and a PlaylogArchive row and an audit
entry are written in one transaction. Any failure deletes nothing and removes the
file. The play counts (play_daily, play_hourly) are left alone: reports keep them.
"""
from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import os
import secrets
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, insert, literal, select
from sqlalchemy.exc import SQLAlchemyError

from cms.errors import PanoledError
from cms.extensions import db
from cms.models import ArchivedPlay, PlaybackEvent, PlaylogArchive, PlaylogChain, PlaylogChainDay, Screen
from cms.services.audit import Actor, record
from cms.services.playlog_chain import Problem, archived_start, link, lock_head

FORMAT = "panoled.playlog-archive/1"
SUFFIX = ".jsonl.gz"
# Every stored column of a play: enough to recompute its chain hash and to read it as evidence.
PLAY_COLUMNS = ("id", "event_id", "asset_id", "asset_name", "campaign_id", "campaign_title", "screen_code",
                "screen_name", "manifest_version", "started_at", "ended_at", "frame_hash", "received_at", "flags",
                "chain_seq", "chain_hash")
TIMES = ("started_at", "ended_at", "received_at")
BATCH = 5000


class ArchiveFailed(PanoledError):
    """A board's plays could not be archived; nothing of that board was deleted."""

    code = "archive_failed"


@dataclass(frozen=True)
class BoardArchive:
    """One board's run of plays moved (or, on a dry run, to be moved) to a file."""

    screen_id: int
    screen_code: str
    from_seq: int
    to_seq: int
    count: int
    file_name: str | None = None  # relative to the archive folder; None on a dry run
    bytes: int = 0
    sha256: str = ""


@dataclass(frozen=True)
class BoardFailure:
    screen_id: int
    screen_code: str
    reason: str


@dataclass(frozen=True)
class ArchiveResult:
    before: datetime
    directory: Path
    dry_run: bool
    archived: list[BoardArchive] = field(default_factory=list)
    failed: list[BoardFailure] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(board.count for board in self.archived)

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class ArchiveReport:
    """What re-reading one archive file found."""

    path: str
    screen_id: int | None
    screen_code: str
    from_seq: int | None
    to_seq: int | None
    entries: int
    registered: bool  # the database has a PlaylogArchive row for this file's run
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _key_id() -> str:
    """Which secret key made the file, without revealing it: a file made with another key
    cannot be checked here, which is not the same as altered."""
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    return hmac.new(key, b"panoled.playlog-archive key id", hashlib.sha256).hexdigest()[:16]


def _header_mac(header: dict[str, Any]) -> str:
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    body = json.dumps({k: v for k, v in header.items() if k != "mac"}, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, b"header\n" + body.encode("utf-8"), hashlib.sha256).hexdigest()


def _encode_play(row: dict[str, Any]) -> bytes:
    line = {key: (_instant(row[key]) if key in TIMES else row[key]) for key in PLAY_COLUMNS}
    return json.dumps(line, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8") + b"\n"


def _decode_play(line: dict[str, Any], screen_id: int) -> dict[str, Any]:
    play = {key: line[key] for key in PLAY_COLUMNS}
    for key in TIMES:
        play[key] = datetime.fromisoformat(play[key])
    return play | {"screen_id": screen_id}


# --- archiving -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    screen_id: int
    screen_code: str
    screen_name: str
    from_seq: int
    to_seq: int
    prev_hash: str
    last_hash: str

    @property
    def count(self) -> int:
        return self.to_seq - self.from_seq + 1


def _plan(screen: Screen, before: datetime) -> _Run | None:
    """The longest run right after the board's last archive whose plays all started before `before`."""
    archived, previous, problem = archived_start(screen.id)
    if problem is not None:
        raise ArchiveFailed("the board's archives are inconsistent (%(detail)s); run `panoled playlog verify`",
                            detail=problem.detail)
    head = db.session.get(PlaylogChain, screen.id)
    if head is None or head.seq <= archived:
        return None
    first_young = db.session.scalar(select(func.min(PlaybackEvent.chain_seq)).where(
        PlaybackEvent.screen_id == screen.id, PlaybackEvent.chain_seq > archived, PlaybackEvent.started_at >= before))
    to_seq = head.seq if first_young is None else min(head.seq, first_young - 1)
    if to_seq <= archived:
        return None
    last_hash = db.session.scalar(select(PlaybackEvent.chain_hash).where(
        PlaybackEvent.screen_id == screen.id, PlaybackEvent.chain_seq == to_seq).limit(1))
    if last_hash is None:
        raise ArchiveFailed("entry %(seq)d of the chain is missing; run `panoled playlog verify`", seq=to_seq)
    return _Run(screen.id, screen.code, screen.name, archived + 1, to_seq, previous, last_hash)


def _header(run: _Run, before: datetime, now: datetime) -> dict[str, Any]:
    days = db.session.execute(select(PlaylogChainDay.day, PlaylogChainDay.seq, PlaylogChainDay.head_hash).where(
        PlaylogChainDay.screen_id == run.screen_id, PlaylogChainDay.seq >= run.from_seq,
        PlaylogChainDay.seq <= run.to_seq).order_by(PlaylogChainDay.day))
    header = {
        "format": FORMAT, "screen_id": run.screen_id, "screen_code": run.screen_code, "screen_name": run.screen_name,
        "from_seq": run.from_seq, "to_seq": run.to_seq, "count": run.count, "prev_hash": run.prev_hash,
        "last_hash": run.last_hash, "days": [{"day": d.isoformat(), "seq": s, "head_hash": h} for d, s, h in days],
        "archived_before": _instant(before), "created_at": _instant(now), "key_id": _key_id(),
    }
    return header | {"mac": _header_mac(header)}


def _stored_plays(run: _Run) -> Iterator[dict[str, Any]]:
    """The run's plays as stored, each checked against the chain as it goes by."""
    columns = [getattr(PlaybackEvent, name) for name in PLAY_COLUMNS]
    rows = db.session.execute(select(*columns).where(
        PlaybackEvent.screen_id == run.screen_id, PlaybackEvent.chain_seq >= run.from_seq,
        PlaybackEvent.chain_seq <= run.to_seq).order_by(PlaybackEvent.chain_seq, PlaybackEvent.id)
        .execution_options(yield_per=BATCH))
    previous, expected = run.prev_hash, run.from_seq
    for row in rows:
        play = dict(row._mapping, screen_id=run.screen_id)
        if play["chain_seq"] != expected:
            raise ArchiveFailed("entry %(seq)d of the chain is missing or doubled; run `panoled playlog verify`",
                                seq=expected)
        previous = link(previous, play)
        if not hmac.compare_digest(previous, play["chain_hash"] or ""):
            raise ArchiveFailed("entry %(seq)d (play %(event)s) differs from what was chained; run "
                                "`panoled playlog verify`", seq=expected, event=play["event_id"])
        expected += 1
        yield play
    if expected - 1 != run.to_seq:
        raise ArchiveFailed("entries %(seq)d to %(to)d of the chain are missing; run `panoled playlog verify`",
                            seq=expected, to=run.to_seq)


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(run: _Run, header: dict[str, Any], directory: Path, now: datetime) -> Path:
    """The run written to its final name, synced; the temporary file is gone on failure."""
    # The random part keeps a second run in the same second (or a file left by a crash) from being overwritten.
    name = f"board-{run.screen_id}-{run.from_seq:09d}-{run.to_seq:09d}-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}{SUFFIX}"
    final, temporary = directory / name, directory / f".{name}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as packed:
                packed.write(json.dumps(header, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
                             .encode("utf-8") + b"\n")
                for play in _stored_plays(run):
                    packed.write(_encode_play(play))
            raw.flush()
            os.fsync(raw.fileno())
        if final.exists():
            raise ArchiveFailed("%(name)s already exists in the archive folder", name=name)
        os.replace(temporary, final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_directory(directory)
    return final


def _registered(screen_id: int, file_name: str) -> bool:
    return db.session.scalar(select(func.count()).select_from(PlaylogArchive).where(
        PlaylogArchive.screen_id == screen_id, PlaylogArchive.file_name == file_name)) > 0


def _archive_board(run: _Run, before: datetime, directory: Path, actor: Actor, now: datetime) -> BoardArchive:
    path = _write_file(run, _header(run, before, now), directory, now)
    try:
        check = check_file(path)
        if check.problem is not None:
            raise ArchiveFailed("the file written for %(code)s does not verify: %(detail)s", code=run.screen_code,
                                detail=check.problem.detail)
        if (check.entries, check.last_hash) != (run.count, run.last_hash):
            raise ArchiveFailed("the file written for %(code)s does not hold the run", code=run.screen_code)
        # A fresh transaction: on SQLite a read snapshot older than another writer's commit cannot turn into a write.
        db.session.rollback()
        lock_head(run.screen_id)  # one archive run and one ingestion batch at a time per board
        archived, previous, _problem = archived_start(run.screen_id)
        if (archived, previous) != (run.from_seq - 1, run.prev_hash):
            raise ArchiveFailed("another archive run for %(code)s got there first", code=run.screen_code)
        archive = PlaylogArchive(
            screen_id=run.screen_id, from_seq=run.from_seq, to_seq=run.to_seq, count=run.count,
            prev_hash=run.prev_hash, last_hash=run.last_hash, file_name=path.name, file_sha256=check.sha256,
            bytes=check.bytes, created_at=now, created_by=actor.label)
        db.session.add(archive)
        db.session.flush()
        in_run = (PlaybackEvent.screen_id == run.screen_id, PlaybackEvent.chain_seq >= run.from_seq,
                  PlaybackEvent.chain_seq <= run.to_seq)
        # Their uuids stay online: a board sending one of them again gets "duplicate".
        db.session.execute(insert(ArchivedPlay).from_select(
            ["screen_id", "event_id", "archive_id"],
            select(PlaybackEvent.screen_id, PlaybackEvent.event_id, literal(archive.id)).where(*in_run)))
        deleted = db.session.execute(
            delete(PlaybackEvent).where(*in_run).execution_options(synchronize_session=False)).rowcount
        if deleted != run.count:
            raise ArchiveFailed("%(deleted)d plays of %(code)s matched the run of %(count)d; nothing deleted",
                                deleted=deleted, code=run.screen_code, count=run.count)
        record(actor, "playlog.archive", "screen", run.screen_id, code=run.screen_code, from_seq=run.from_seq,
               to_seq=run.to_seq, count=run.count, file=path.name, sha256=check.sha256,
               archived_before=_instant(before))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        try:
            kept = _registered(run.screen_id, path.name)  # a commit that failed on the way back may have landed
        except SQLAlchemyError:
            kept = True  # cannot tell: keeping a file is safe, removing the only copy is not
        finally:
            db.session.rollback()
        if not kept:
            path.unlink(missing_ok=True)
        raise
    return BoardArchive(run.screen_id, run.screen_code, run.from_seq, run.to_seq, run.count, path.name,
                        check.bytes, check.sha256)


def archive_plays(before: datetime, directory: Path, actor: Actor, *, dry_run: bool = False,
                  screen_id: int | None = None, now: datetime | None = None) -> ArchiveResult:
    """Archive, per board, the plays chained before any play started at or after `before`.
    Each board is all or nothing; a board that fails is named in the result and the others go on."""
    now = now or datetime.now(UTC)
    result = ArchiveResult(before, directory, dry_run)
    if not dry_run:
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            raise ArchiveFailed("cannot create the archive folder %(dir)s: %(error)s", dir=str(directory),
                                error=error.strerror or str(error)) from None
    query = select(Screen).order_by(Screen.id)
    if screen_id is not None:
        query = query.where(Screen.id == screen_id)
    screens = [(s.id, s.code) for s in db.session.scalars(query)]
    for board_id, code in screens:
        screen = db.session.get(Screen, board_id)
        assert screen is not None
        try:
            run = _plan(screen, before)
            if run is None:
                continue
            if dry_run:
                result.archived.append(BoardArchive(board_id, code, run.from_seq, run.to_seq, run.count))
                continue
            result.archived.append(_archive_board(run, before, directory, actor, now))
        except (ArchiveFailed, OSError, SQLAlchemyError) as error:
            db.session.rollback()
            reason = str(error) if isinstance(error, ArchiveFailed) else f"{type(error).__name__}: {error}"
            result.failed.append(BoardFailure(board_id, code, reason))
    db.session.rollback()
    return result


# --- verification of files -------------------------------------------------------------------


@dataclass(frozen=True)
class FileCheck:
    header: dict[str, Any] | None
    entries: int
    last_hash: str
    sha256: str
    bytes: int
    problem: Problem | None


def _digest(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _header_problem(header: Any) -> Problem | None:
    required = {"format": str, "screen_id": int, "screen_code": str, "from_seq": int, "to_seq": int, "count": int,
                "prev_hash": str, "last_hash": str, "days": list, "key_id": str, "mac": str}
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        return Problem("unreadable", None, None, f"not a play archive (format {FORMAT} expected)")
    for key, kind in required.items():
        if not isinstance(header.get(key), kind) or isinstance(header.get(key), bool):
            return Problem("unreadable", None, None, f"the header's {key} is missing or malformed")
    if header["key_id"] != _key_id():
        return Problem("key", None, None, "made with another secret key; it can only be checked where that key is")
    if not hmac.compare_digest(_header_mac(header), header["mac"]):
        return Problem("altered", None, None, "the header differs from what was written")
    if header["count"] != header["to_seq"] - header["from_seq"] + 1 or header["from_seq"] < 1:
        return Problem("altered", None, None, "the header's count does not match its entries")
    return None


def _lines(path: Path) -> Iterator[bytes]:
    with gzip.open(path, "rb") as packed:
        yield from packed


def check_file(path: Path) -> FileCheck:
    """Recompute every entry's hash from the header's previous hash; the first problem, if any.
    Needs the app's secret key (an application context), not the database."""
    sha256, size = _digest(path)
    header: dict[str, Any] | None = None
    entries, previous, expected = 0, "", 0
    problem: Problem | None = None
    try:
        lines = _lines(path)
        first = next(lines, None)
        parsed = json.loads(first) if first is not None else None
        problem = _header_problem(parsed)
        if isinstance(parsed, dict):
            header = parsed  # even a header in doubt names the board in the report
        if problem is None:
            assert header is not None
            days: dict[int, list[tuple[str, str]]] = {}
            for day in header["days"]:
                days.setdefault(int(day["seq"]), []).append((str(day["day"]), str(day["head_hash"])))
            previous, expected = header["prev_hash"], header["from_seq"]
            for raw in lines:
                line = json.loads(raw)
                seq, event_id = line.get("chain_seq"), line.get("event_id")
                if seq != expected:
                    kind = "inserted" if isinstance(seq, int) and seq < expected else "missing"
                    problem = Problem(kind, expected, event_id, f"entry {seq} found where entry {expected} belongs")
                    break
                if seq > header["to_seq"]:
                    problem = Problem("inserted", seq, event_id, f"an entry after the header's last ({header['to_seq']})")
                    break
                recomputed = link(previous, _decode_play(line, header["screen_id"]))
                if not hmac.compare_digest(recomputed, str(line.get("chain_hash") or "")):
                    problem = Problem("altered", seq, event_id, "the play differs from what was chained")
                    break
                for day, head_hash in days.get(seq, ()):
                    if not hmac.compare_digest(recomputed, head_hash):
                        problem = Problem("altered", seq, event_id, f"the head kept for {day} does not match")
                        break
                if problem is not None:
                    break
                previous, expected, entries = recomputed, expected + 1, entries + 1
            if problem is None and (expected - 1 != header["to_seq"] or previous != header["last_hash"]):
                problem = Problem("truncated", expected, None,
                                  f"the file ends at entry {expected - 1}, its header says {header['to_seq']}")
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        problem = Problem("unreadable", None, None, f"not a whole gzip file ({error})")
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        problem = Problem("unreadable", expected or None, None, f"an entry that cannot be read ({type(error).__name__})")
    return FileCheck(header, entries, previous, sha256, size, problem)


def verify_archive(path: Path) -> ArchiveReport:
    """Check an archive file on its own, then against the database's record of it, if any."""
    check = check_file(path)
    header = check.header or {}
    problem = check.problem
    registered = False
    if isinstance(header.get("screen_id"), int) and isinstance(header.get("from_seq"), int):
        row = db.session.scalars(select(PlaylogArchive).where(PlaylogArchive.screen_id == header["screen_id"],
                                                              PlaylogArchive.from_seq == header["from_seq"])).first()
        registered = row is not None
        if row is not None and problem is None:
            expected = {"to_seq": row.to_seq, "count": row.count, "prev_hash": row.prev_hash,
                        "last_hash": row.last_hash, "sha256": row.file_sha256, "bytes": row.bytes}
            found = {"to_seq": header["to_seq"], "count": header["count"], "prev_hash": header["prev_hash"],
                     "last_hash": header["last_hash"], "sha256": check.sha256, "bytes": check.bytes}
            differing = [key for key in expected if expected[key] != found[key]]
            if differing:
                problem = Problem("mismatch", header["from_seq"], None,
                                  f"the file's {', '.join(differing)} differ from the database's record of "
                                  f"{row.file_name}")

    def number(key: str) -> int | None:
        value = header.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    code = header.get("screen_code")
    return ArchiveReport(str(path), number("screen_id"), code if isinstance(code, str) else "", number("from_seq"),
                         number("to_seq"), check.entries, registered, problem)


def archive_files(paths: list[Path]) -> list[Path]:
    """The files named, with a folder standing for the archives in it."""
    found: list[Path] = []
    for path in paths:
        found.extend(sorted(path.glob(f"*{SUFFIX}")) if path.is_dir() else [path])
    return found


def unfound_archives(directory: Path, screen_id: int | None = None) -> list[PlaylogArchive]:
    """Archives the database records whose file is not in the folder."""
    query = select(PlaylogArchive).order_by(PlaylogArchive.screen_id, PlaylogArchive.from_seq)
    if screen_id is not None:
        query = query.where(PlaylogArchive.screen_id == screen_id)
    return [row for row in db.session.scalars(query) if not (directory / row.file_name).is_file()]

