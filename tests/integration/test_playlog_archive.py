"""Retention: old plays leave the database for compressed files that stay verifiable, the
chain online carries on from them, the play counts are kept, and nothing is deleted
unless its file was written and checked."""
from __future__ import annotations

import gzip
import json
import os
import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, func, select

from board_calls import make_manifest, new_board, post_signed
from cms.cli import main
from cms.config import load_config
from cms.errors import ConfigError
from cms.extensions import db
from cms.models import ArchivedPlay, AuditEvent, PlaybackEvent, PlaylogArchive
from cms.services import playlog_archive
from cms.services.audit import Actor
from cms.services.play_stats import daily_totals
from conftest import Accounts

NOW = datetime.now(UTC)
LONG_AGO = NOW - timedelta(days=800)


def _plays(count: int, start: datetime) -> list[dict[str, Any]]:
    return [{"event_id": str(uuid.uuid4()), "asset_id": 555, "manifest_version": 1,
             "start": (start + timedelta(seconds=15 * n)).isoformat(),
             "end": (start + timedelta(seconds=15 * n + 15)).isoformat(), "frame_hash": None} for n in range(count)]


class Board:
    def __init__(self, client, app: Flask, accounts: Accounts, code: str) -> None:  # type: ignore[no-untyped-def]
        self.client, self.app = client, app
        self.id, self.secret = new_board(client, accounts.token("operator"), code)
        make_manifest(app, self.id, 1, (555,))

    def send(self, plays: list[dict[str, Any]]) -> dict[str, Any]:
        answer = post_signed(self.client, f"/api/v1/screens/{self.id}/playlogs", self.secret, {"plays": plays})
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    def online_seqs(self) -> list[int]:
        with self.app.app_context():
            return list(db.session.scalars(select(PlaybackEvent.chain_seq).where(PlaybackEvent.screen_id == self.id)
                                           .order_by(PlaybackEvent.chain_seq)))


@pytest.fixture
def board(client, app: Flask, accounts: Accounts) -> Board:  # type: ignore[no-untyped-def]
    """A board with three plays from two years ago, then two from the last hour."""
    board = Board(client, app, accounts, "ARCH-1")
    board.send(_plays(3, LONG_AGO))
    board.send(_plays(2, NOW - timedelta(hours=1)))
    return board


@pytest.fixture
def archive_dir(settings: Any) -> Path:
    return settings.archive_dir


def invoke(runner, *args: str) -> tuple[int, dict[str, Any]]:  # type: ignore[no-untyped-def]
    result = runner.invoke(main, ["playlog", *args, "--json"])
    try:
        return result.exit_code, json.loads(result.output)
    except json.JSONDecodeError:
        raise AssertionError(result.output) from result.exception


def archive(app: Flask, before: datetime, directory: Path) -> playlog_archive.ArchiveResult:
    with app.app_context():
        return playlog_archive.archive_plays(before, directory, Actor.command_line())


def read_archive(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rb") as fh:
        return [json.loads(line) for line in fh]


def write_archive(path: Path, lines: list[dict[str, Any]]) -> None:
    with gzip.open(path, "wb") as fh:
        for line in lines:
            fh.write(json.dumps(line, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode() + b"\n")


def files_in(directory: Path) -> list[Path]:
    return sorted(directory.iterdir()) if directory.exists() else []


def test_old_plays_go_to_a_private_file_and_both_the_chain_and_the_file_verify(
        app: Flask, runner, board: Board, archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        totals_before = daily_totals()
    code, result = invoke(runner, "archive")  # [retention] archive_after_days: 400
    assert code == 0, result
    assert result["total"] == 3 and result["failed"] == []
    moved = result["boards"][0]
    assert (moved["code"], moved["from_seq"], moved["to_seq"], moved["count"]) == ("ARCH-1", 1, 3, 3)
    path = archive_dir / moved["file"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and files_in(archive_dir) == [path]
    assert board.online_seqs() == [4, 5]

    header, *plays = read_archive(path)
    assert (header["screen_code"], header["screen_name"], header["from_seq"], header["to_seq"], header["count"]) == \
        ("ARCH-1", "Bảng ARCH-1", 1, 3, 3)
    assert header["prev_hash"] == "0" * 64 and header["last_hash"] == plays[-1]["chain_hash"]
    assert [p["chain_seq"] for p in plays] == [1, 2, 3] and plays[0]["flags"] == ["clock_skew"]
    assert header["days"] == []  # the day head (seq 5) lies beyond the run

    with app.app_context():
        assert daily_totals() == totals_before  # reports keep their counts
        row = db.session.scalars(select(PlaylogArchive)).one()
        assert (row.file_name, row.count, row.last_hash, row.bytes) == (path.name, 3, header["last_hash"],
                                                                         path.stat().st_size)
        audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "playlog.archive")).one()
        assert audit.object_id == board.id and audit.details["count"] == 3 and audit.details["file"] == path.name

    code, report = invoke(runner, "verify", "--archive", str(archive_dir))
    assert code == 0, report
    chain, (file_report,) = report["boards"][0], report["archives"]
    assert (chain["ok"], chain["archived"], chain["entries"], chain["head_seq"]) == (True, 3, 2, 5)
    assert file_report["ok"] and file_report["registered"] and file_report["entries"] == 3


def test_a_second_run_continues_the_chain_and_a_late_old_play_waits_for_its_turn(
        app: Flask, runner, board: Board, archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    late = _plays(1, LONG_AGO + timedelta(hours=1))
    board.send(late)  # an old play arriving after newer ones: entry 6
    first = archive(app, NOW - timedelta(days=365), archive_dir)
    assert [(b.from_seq, b.to_seq) for b in first.archived] == [(1, 3)]
    assert board.online_seqs() == [4, 5, 6]  # entry 6 is old, but 4 and 5 are not

    second = archive(app, NOW + timedelta(days=1), archive_dir)
    assert [(b.from_seq, b.to_seq) for b in second.archived] == [(4, 6)]
    assert board.online_seqs() == []
    first_header = read_archive(archive_dir / first.archived[0].file_name)[0]
    second_header, *plays = read_archive(archive_dir / second.archived[0].file_name)
    assert second_header["prev_hash"] == first_header["last_hash"]
    assert plays[-1]["event_id"] == late[0]["event_id"]
    assert len(second_header["days"]) == 1 and second_header["days"][0]["seq"] == 6  # today's head, now in the file

    assert archive(app, NOW + timedelta(days=1), archive_dir).archived == []  # nothing left to move
    board.send(_plays(1, NOW - timedelta(minutes=5)))  # the chain online carries on after the archives
    code, report = invoke(runner, "verify", "--archive", str(archive_dir))
    assert code == 0, report
    assert (report["boards"][0]["archived"], report["boards"][0]["entries"], report["boards"][0]["head_seq"]) == (6, 1, 7)
    assert [a["ok"] for a in report["archives"]] == [True, True]


def test_a_changed_end_time_inside_an_archive_is_found_and_named(
        app: Flask, runner, board: Board, archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    (moved,) = archive(app, NOW - timedelta(days=365), archive_dir).archived
    path = archive_dir / moved.file_name
    lines = read_archive(path)
    changed = lines[2]
    changed["ended_at"] = (datetime.fromisoformat(changed["ended_at"]) + timedelta(seconds=30)).isoformat()
    write_archive(path, lines)

    code, report = invoke(runner, "verify", "--archive", str(path))
    assert code == 1
    assert report["archives"][0]["code"] == "ARCH-1"
    assert report["archives"][0]["problem"] == {"kind": "altered", "seq": 2, "event_id": changed["event_id"],
                                                "detail": "the play differs from what was chained"}
    assert report["boards"][0]["ok"]  # the database side is untouched
    text = runner.invoke(main, ["playlog", "verify", "--archive", str(path)])
    assert text.exit_code == 1 and f"ALTERED   {path.name}: entry 2 (play {changed['event_id']})" in text.output


def test_an_archive_cut_short_or_rewritten_whole_is_found(
        app: Flask, runner, board: Board, archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    (moved,) = archive(app, NOW - timedelta(days=365), archive_dir).archived
    path = archive_dir / moved.file_name
    lines = read_archive(path)
    write_archive(path, lines[:-1])
    code, report = invoke(runner, "verify", "--archive", str(path))
    assert code == 1 and (report["archives"][0]["problem"]["kind"], report["archives"][0]["problem"]["seq"]) == \
        ("truncated", 3)

    write_archive(path, lines)  # the same plays, but not the bytes the database recorded
    code, report = invoke(runner, "verify", "--archive", str(path))
    assert code == 1 and report["archives"][0]["problem"]["kind"] == "mismatch"
    assert "sha256" in report["archives"][0]["problem"]["detail"]

    write_archive(path, [lines[0] | {"screen_name": "Bảng khác"}, *lines[1:]])
    code, report = invoke(runner, "verify", "--archive", str(path))
    assert code == 1 and report["archives"][0]["problem"]["detail"] == "the header differs from what was written"
    assert report["archives"][0]["code"] == "ARCH-1"

    write_archive(path, lines)
    path.write_bytes(path.read_bytes()[:-20])  # the gzip stream itself cut off
    code, report = invoke(runner, "verify", "--archive", str(path))
    assert code == 1 and report["archives"][0]["problem"]["kind"] == "unreadable"


def test_a_recorded_archive_whose_file_is_gone_is_named(
        app: Flask, runner, board: Board, archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    (moved,) = archive(app, NOW - timedelta(days=365), archive_dir).archived
    (archive_dir / moved.file_name).unlink()
    code, report = invoke(runner, "verify", "--archive", str(archive_dir))
    assert code == 1 and report["archives"][0]["problem"]["kind"] == "missing"
    assert report["archives"][0]["path"].endswith(moved.file_name)


def test_plays_gone_from_the_database_after_an_archive_are_still_found(
        app: Flask, runner, board: Board, archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    archive(app, NOW - timedelta(days=365), archive_dir)
    with app.app_context():
        db.session.execute(delete(PlaybackEvent).where(PlaybackEvent.screen_id == board.id,
                                                       PlaybackEvent.chain_seq == 4))
        db.session.commit()
    code, report = invoke(runner, "verify")
    assert code == 1 and (report["boards"][0]["problem"]["kind"], report["boards"][0]["problem"]["seq"]) == ("missing", 4)

    with app.app_context():  # hiding the archive's record does not hide the plays' absence
        db.session.execute(delete(ArchivedPlay))
        db.session.execute(delete(PlaylogArchive))
        db.session.commit()
    code, report = invoke(runner, "verify")
    assert code == 1 and (report["boards"][0]["problem"]["kind"], report["boards"][0]["problem"]["seq"]) == ("missing", 1)


def _nothing_changed(app: Flask, board: Board, archive_dir: Path) -> None:
    assert board.online_seqs() == [1, 2, 3, 4, 5]
    assert [p for p in files_in(archive_dir)] == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PlaylogArchive)) == 0
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "playlog.archive")) == 0


def test_a_failed_rename_deletes_nothing_and_leaves_no_file(
        app: Flask, runner, board: Board, archive_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    def refuse(_source: Any, _target: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(playlog_archive.os, "replace", refuse)
    code, result = invoke(runner, "archive")
    assert code == 1 and result["boards"] == []
    assert result["failed"][0]["code"] == "ARCH-1" and "No space left" in result["failed"][0]["reason"]
    _nothing_changed(app, board, archive_dir)
    assert invoke(runner, "verify")[0] == 0


def test_a_failure_after_the_delete_rolls_it_back_and_removes_the_file(
        app: Flask, runner, board: Board, archive_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    def broken_audit(*_args: Any, **_kwargs: Any) -> None:
        raise OSError(5, "audit log unavailable")

    monkeypatch.setattr(playlog_archive, "record", broken_audit)
    result = archive(app, NOW - timedelta(days=365), archive_dir)
    assert result.archived == [] and "audit log unavailable" in result.failed[0].reason
    _nothing_changed(app, board, archive_dir)


def test_an_archive_folder_that_cannot_be_made_deletes_nothing(
        app: Flask, runner, board: Board, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = runner.invoke(main, ["playlog", "archive", "--dir", str(blocker / "archive")])
    assert result.exit_code == 1 and "cannot create the archive folder" in result.output
    assert "Traceback" not in result.output
    assert board.online_seqs() == [1, 2, 3, 4, 5]


def test_an_unwritable_archive_folder_deletes_nothing(
        app: Flask, runner, board: Board, archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    if os.geteuid() == 0:
        pytest.skip("root writes into any folder; the rename and folder tests cover failures")
    archive_dir.mkdir(parents=True)
    archive_dir.chmod(0o500)
    try:
        code, result = invoke(runner, "archive")
    finally:
        archive_dir.chmod(0o700)
    assert code == 1 and result["failed"][0]["code"] == "ARCH-1"
    _nothing_changed(app, board, archive_dir)


def test_a_dry_run_changes_nothing(app: Flask, runner, board: Board, archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    code, result = invoke(runner, "archive", "--dry-run")
    assert code == 0 and result["dry_run"] and result["total"] == 3
    assert (result["boards"][0]["from_seq"], result["boards"][0]["to_seq"], result["boards"][0]["file"]) == (1, 3, None)
    assert not archive_dir.exists()
    _nothing_changed(app, board, archive_dir)
    text = runner.invoke(main, ["playlog", "archive", "--dry-run"])
    assert text.exit_code == 0 and "total: 3 plays" in text.output and "would be archived" in text.output


def test_archive_options_are_checked(app: Flask, runner, board: Board, archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    both = runner.invoke(main, ["playlog", "archive", "--older-than", "30", "--before", "2024-01-01"])
    assert both.exit_code == 2 and "not both" in both.output
    future = runner.invoke(main, ["playlog", "archive", "--before", (NOW + timedelta(days=2)).date().isoformat()])
    assert future.exit_code == 2 and "future" in future.output
    garbled = runner.invoke(main, ["playlog", "archive", "--before", "last year"])
    assert garbled.exit_code == 2 and "ISO date" in garbled.output
    code, result = invoke(runner, "archive", "--before", LONG_AGO.date().isoformat())
    assert code == 0 and result["total"] == 0  # nothing started before that day
    code, result = invoke(runner, "archive", "--older-than", "30", "--screen", "ARCH-1")
    assert code == 0 and result["total"] == 3
    assert invoke(runner, "verify", "--archive", str(archive_dir))[0] == 0


def test_retention_settings_default_to_400_days_and_a_folder_in_the_data_dir(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[storage]\ndata_dir = "state"\n', encoding="utf-8")
    config = load_config(path, environ={})
    assert config.retention.archive_after_days == 400 and config.archive_dir == tmp_path / "state" / "archive"
    config = load_config(path, environ={"PANOLED_RETENTION__ARCHIVE_DIR": "old-plays",
                                        "PANOLED_RETENTION__ARCHIVE_AFTER_DAYS": "730"})
    assert config.retention.archive_after_days == 730 and config.archive_dir == tmp_path / "old-plays"
    with pytest.raises(ConfigError, match="retention.archive_after_days"):
        load_config(path, environ={"PANOLED_RETENTION__ARCHIVE_AFTER_DAYS": "0"})
    with pytest.raises(ConfigError, match="retention.keep_days"):
        load_config(path, environ={"PANOLED_RETENTION__KEEP_DAYS": "30"})


def test_an_archived_play_sent_again_is_a_duplicate_and_stored_once(
        app: Flask, client, accounts: Accounts, archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    board = Board(client, app, accounts, "ARCH-2")
    old = _plays(3, LONG_AGO)
    board.send(old)
    assert archive(app, NOW - timedelta(days=400), archive_dir).total == 3
    fresh = _plays(1, NOW - timedelta(minutes=5))
    answer = board.send([*reversed(old), *fresh])  # a board that lost its upload bookkeeping sends everything again
    assert answer["duplicates"] == [p["event_id"] for p in reversed(old)] and answer["new"] == [fresh[0]["event_id"]]
    with app.app_context():
        assert daily_totals().plays == 4  # the three archived ones counted once, the new one once
        assert db.session.scalar(select(func.count()).select_from(PlaybackEvent)) == 1
    assert board.online_seqs() == [4]


def test_counts_are_rebuilt_from_the_plays_until_some_are_archived(
        app: Flask, runner, board: Board, archive_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from cms.models import PlayDaily

    with app.app_context():
        db.session.execute(delete(PlayDaily))  # counts lost (or a database upgraded before they were kept)
        db.session.commit()
    recount = runner.invoke(main, ["playlog", "recount"])
    assert recount.exit_code == 0 and "counted 5 play(s) on 1 board(s)" in recount.output
    archive(app, NOW - timedelta(days=400), archive_dir)
    refused = runner.invoke(main, ["playlog", "recount"])
    assert refused.exit_code == 1 and "[plays_archived]" in refused.output
    with app.app_context():
        assert daily_totals().plays == 5  # the archived plays still counted
