"""Tamper evidence: each board's plays form a keyed chain; changing, deleting or slipping in a
play directly in the database is found and named by `panoled playlog verify`."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select, update

from board_calls import make_manifest, new_board, post_signed
from cms.cli import main
from cms.extensions import db
from cms.models import PlaybackEvent, PlaylogChainDay
from conftest import Accounts


def _plays(count: int, start: datetime) -> list[dict[str, Any]]:
    return [{"event_id": str(uuid.uuid4()), "asset_id": 555, "manifest_version": 1,
             "start": (start + timedelta(seconds=15 * n)).isoformat(),
             "end": (start + timedelta(seconds=15 * n + 15)).isoformat(), "frame_hash": None} for n in range(count)]


@pytest.fixture
def chained(client, app: Flask, accounts: Accounts) -> tuple[int, list[dict[str, Any]]]:
    board, secret = new_board(client, accounts.token("operator"), "CHAIN-1")
    make_manifest(app, board, 1, (555,))
    plays = _plays(6, datetime.now(UTC) - timedelta(hours=1))
    url = f"/api/v1/screens/{board}/playlogs"
    assert post_signed(client, url, secret, {"plays": plays[:4]}).status_code == 200
    assert post_signed(client, url, secret, {"plays": plays[2:]}).status_code == 200  # two again, two new
    return board, plays


def verify(runner, *extra: str) -> tuple[int, dict[str, Any]]:  # type: ignore[no-untyped-def]
    result = runner.invoke(main, ["playlog", "verify", "--json", *extra])
    return result.exit_code, json.loads(result.output)["boards"][0]


def test_an_untouched_chain_verifies_with_its_head_kept_per_day(app: Flask, runner, chained) -> None:  # type: ignore[no-untyped-def]
    board, plays = chained
    code, report = verify(runner)
    assert code == 0 and report["ok"] and report["entries"] == 6 == report["head_seq"]
    with app.app_context():
        seqs = list(db.session.scalars(select(PlaybackEvent.chain_seq).where(PlaybackEvent.screen_id == board)
                                       .order_by(PlaybackEvent.id)))
        day = db.session.scalars(select(PlaylogChainDay).where(PlaylogChainDay.screen_id == board)).one()
    assert seqs == [1, 2, 3, 4, 5, 6] and (day.seq, day.head_hash) == (6, report["head_hash"])


def test_a_changed_end_time_is_found_and_named(app: Flask, runner, chained) -> None:  # type: ignore[no-untyped-def]
    board, plays = chained
    with app.app_context():
        db.session.execute(update(PlaybackEvent).where(PlaybackEvent.event_id == plays[2]["event_id"])
                           .values(ended_at=datetime.fromisoformat(plays[2]["end"]) + timedelta(seconds=30)))
        db.session.commit()
    code, report = verify(runner)
    assert code == 1 and report["problem"] == {"kind": "altered", "seq": 3, "event_id": plays[2]["event_id"],
                                               "detail": "the play differs from what was chained"}


def test_a_deleted_play_is_found_and_named(app: Flask, runner, chained) -> None:  # type: ignore[no-untyped-def]
    board, plays = chained
    with app.app_context():
        db.session.execute(delete(PlaybackEvent).where(PlaybackEvent.event_id == plays[1]["event_id"]))
        db.session.commit()
    code, report = verify(runner, "--screen", "CHAIN-1")
    assert code == 1 and (report["problem"]["kind"], report["problem"]["seq"]) == ("missing", 2)


def test_a_deleted_last_play_is_found_from_the_head(app: Flask, runner, chained) -> None:  # type: ignore[no-untyped-def]
    board, plays = chained
    with app.app_context():
        db.session.execute(delete(PlaybackEvent).where(PlaybackEvent.event_id == plays[5]["event_id"]))
        db.session.commit()
    code, report = verify(runner)
    assert code == 1 and (report["problem"]["kind"], report["problem"]["seq"]) == ("truncated", 6)


def test_a_play_slipped_in_is_found_and_named(app: Flask, runner, chained) -> None:  # type: ignore[no-untyped-def]
    board, plays = chained
    forged = str(uuid.uuid4())
    with app.app_context():
        row = db.session.scalars(select(PlaybackEvent).where(PlaybackEvent.event_id == plays[0]["event_id"])).one()
        copied = {"started_at": row.started_at, "ended_at": row.ended_at, "received_at": row.received_at}
        db.session.add(PlaybackEvent(screen_id=board, event_id=forged, asset_id=555, manifest_version=1, flags=[],
                                     chain_seq=4, chain_hash=row.chain_hash, **copied))
        db.session.commit()
    code, report = verify(runner)
    assert code == 1 and report["problem"]["kind"] in ("inserted", "altered")
    assert forged in (report["problem"]["event_id"], plays[3]["event_id"])
    with app.app_context():
        db.session.execute(delete(PlaybackEvent).where(PlaybackEvent.event_id == forged))
        db.session.add(PlaybackEvent(screen_id=board, event_id=forged, asset_id=555, manifest_version=1, flags=[], **copied))
        db.session.commit()
    code, report = verify(runner)
    assert code == 1 and report["problem"] == {"kind": "inserted", "seq": None, "event_id": forged,
                                               "detail": "a play that did not come in through ingestion"}


def test_batches_arriving_at_once_chain_one_after_the_other(client, app: Flask, accounts: Accounts, runner) -> None:  # type: ignore[no-untyped-def]
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from board_calls import bearer
    from display_adapters.signing import board_key, signed_headers

    board, secret = new_board(client, accounts.token("operator"), "CHAIN-2")
    start = datetime.now(UTC) - timedelta(hours=2)
    batches = [_plays(200, start), _plays(200, start + timedelta(hours=1)), _plays(200, start + timedelta(minutes=30))]
    barrier = threading.Barrier(len(batches))

    def send(index: int) -> int:
        raw = json.dumps({"plays": batches[index]}).encode()
        headers = bearer(secret) | {"Content-Type": "application/json"} | signed_headers(board_key(secret), raw, time.time())
        barrier.wait()
        return app.test_client().post(f"/api/v1/screens/{board}/playlogs", data=raw, headers=headers).status_code

    with ThreadPoolExecutor(len(batches)) as pool:
        assert list(pool.map(send, range(len(batches)))) == [200] * len(batches)
    code, report = verify(runner)
    assert code == 0 and report["entries"] == report["head_seq"] == 600


def test_the_boards_signed_batches_are_kept_and_rechecked(app: Flask, client, accounts: Accounts, runner,  # type: ignore[no-untyped-def]
                                                          chained) -> None:
    import gzip
    import hashlib

    from cms.models import PlaylogBatch

    board, plays = chained
    code, report = verify(runner)
    assert code == 0 and report["signed_batches_checked"] == 2  # the second batch had two new plays: kept too
    with app.app_context():
        batches = list(db.session.scalars(select(PlaylogBatch).where(PlaylogBatch.screen_id == board)
                                          .order_by(PlaylogBatch.id)))
        assert [(b.plays, b.stored) for b in batches] == [(4, 4), (4, 2)]
        body = json.loads(gzip.decompress(batches[0].body))
        assert [p["event_id"] for p in body["plays"]] == [p["event_id"] for p in plays[:4]]
        # The body changed and its checksum with it: the board's signature no longer matches.
        body["plays"][1]["end"] = plays[1]["start"]
        forged = json.dumps(body).encode()
        batches[0].body, batches[0].body_sha256 = gzip.compress(forged), hashlib.sha256(forged).hexdigest()
        db.session.commit()
    code, report = verify(runner)
    assert code == 1 and report["problem"]["kind"] == "altered" and report["problem"]["seq"] == 1
    assert "signature does not match" in report["problem"]["detail"]

    # After the board's secret is rotated, old batches are still compared with the plays,
    # but their signatures were made with the old key.
    rotated = client.post(f"/api/v1/screens/{board}/secret", headers=accounts.token("operator"))
    assert rotated.status_code == 200
    code, report = verify(runner)
    assert code == 1 and "differs from what the board signed" in report["problem"]["detail"]
    assert report["signed_batches_earlier_key"] >= 1


def test_a_check_from_the_last_verification_reads_only_new_entries_and_a_full_one_reads_all(  # type: ignore[no-untyped-def]
        app: Flask, client, accounts: Accounts, runner, chained) -> None:
    from cms.models import PlaylogCheck, Screen
    from cms.services.playlog_chain import verify as verify_chain

    board, plays = chained
    assert verify(runner)[0] == 0  # a full verification: the mark moves to entry 6
    with app.app_context():
        mark = db.session.get(PlaylogCheck, board)
        assert mark is not None and mark.seq == 6 and mark.whole_checked_at is not None
    secret = client.post(f"/api/v1/screens/{board}/secret", headers=accounts.token("operator")).get_json()["secret"]
    later = _plays(2, datetime.now(UTC) - timedelta(minutes=5))
    assert post_signed(client, f"/api/v1/screens/{board}/playlogs", secret, {"plays": later}).status_code == 200
    with app.app_context():
        recent = verify_chain(db.session.get(Screen, board), since_last_check=True)
        db.session.commit()
        assert recent.ok and (recent.checked_from, recent.entries, recent.head_seq) == (6, 2, 8)
        # An old entry changed behind the mark: only a full verification reads that far back.
        db.session.execute(update(PlaybackEvent).where(PlaybackEvent.event_id == plays[0]["event_id"])
                           .values(asset_id=556))
        db.session.commit()
        assert verify_chain(db.session.get(Screen, board), since_last_check=True).ok
        db.session.commit()
    code, report = verify(runner)
    assert code == 1 and (report["problem"]["kind"], report["problem"]["seq"]) == ("altered", 1)
    with app.app_context():
        assert db.session.get(PlaylogCheck, board).whole_checked_at is None  # no longer vouched for
        # The entry the mark stands on changed: found by the next check from the mark.
        db.session.execute(update(PlaybackEvent).where(PlaybackEvent.chain_seq == 8, PlaybackEvent.screen_id == board)
                           .values(chain_hash="f" * 64))
        db.session.commit()
        found = verify_chain(db.session.get(Screen, board), since_last_check=True)
        assert not found.ok and found.problem.seq == 8


def test_the_scheduler_verifies_chains_not_checked_whole_for_a_day(app: Flask, chained) -> None:  # type: ignore[no-untyped-def]
    from cms.models import PlaylogCheck
    from scheduler.service import SchedulerService

    board, _plays_sent = chained
    service = SchedulerService(app, name="verify")
    service.leading.set()
    service.verify_chains()  # never checked whole: checked now
    with app.app_context():
        first = db.session.get(PlaylogCheck, board).whole_checked_at
        assert first is not None
    service.verify_chains()  # checked within the day: left alone
    with app.app_context():
        assert db.session.get(PlaylogCheck, board).whole_checked_at == first
        db.session.get(PlaylogCheck, board).whole_checked_at = first - timedelta(hours=25)
        db.session.commit()
    service.verify_chains()
    with app.app_context():
        assert db.session.get(PlaylogCheck, board).whole_checked_at > first


def test_many_boards_checked_at_once_answer_as_one_by_one_and_still_find_what_moved(  # type: ignore[no-untyped-def]
        app: Flask, client, accounts: Accounts, chained) -> None:
    """The report page checks every board from its mark in a few queries when nothing moved;
    anything that did move (a new play, a play outside the chain, a changed hash at the mark,
    a play slipped in after the head) sends that board through the full check from its mark."""
    from cms.models import PlaylogCheck, Screen
    from cms.services.playlog_chain import verify as verify_chain
    from cms.services.playlog_chain import verify_many

    board, plays = chained
    quiet, _ = new_board(client, accounts.token("operator"), "CHAIN-2")  # no plays at all

    def both() -> tuple[dict[int, Any], dict[int, Any]]:
        with app.app_context():
            screens = [db.session.get(Screen, board), db.session.get(Screen, quiet)]
            many = verify_many(screens, since_last_check=True)
            db.session.commit()
            one = {s.id: verify_chain(s, since_last_check=True, now=many[s.id].whole_checked_at or None)
                   for s in screens}
            db.session.rollback()
            return many, one

    many, one = both()  # no marks yet: checked one by one, marks made
    assert all(r.ok for r in many.values()) and many[board].head_seq == 6
    with app.app_context():
        assert {m.screen_id for m in db.session.scalars(select(PlaylogCheck))} == {board, quiet}
    many, one = both()  # nothing moved: answered at once, the same as one by one
    for screen_id in (board, quiet):
        fast, slow = many[screen_id], one[screen_id]
        assert (fast.ok, fast.entries, fast.head_seq, fast.head_hash, fast.checked_from, fast.archived) == (
            slow.ok, slow.entries, slow.head_seq, slow.head_hash, slow.checked_from, slow.archived)
    assert many[quiet].whole_checked_at is not None  # an empty chain is whole

    def tampered(change: Any, undo: Any) -> Any:
        with app.app_context():
            db.session.execute(change)
            db.session.commit()
            found = verify_many([db.session.get(Screen, board)], since_last_check=True)[board]
            db.session.rollback()
            db.session.execute(undo)
            db.session.commit()
            return found

    with app.app_context():
        last = db.session.scalar(select(PlaybackEvent).where(PlaybackEvent.screen_id == board,
                                                             PlaybackEvent.chain_seq == 6))
        event_id, chain_hash = last.event_id, last.chain_hash
    this_play = update(PlaybackEvent).where(PlaybackEvent.event_id == event_id)
    restore = this_play.values(chain_seq=6, chain_hash=chain_hash)
    found = tampered(this_play.values(chain_hash="e" * 64), restore)  # the entry at the mark changed
    assert not found.ok and (found.problem.kind, found.problem.seq) == ("altered", 6)
    with app.app_context():  # put back: as before
        assert verify_many([db.session.get(Screen, board)], since_last_check=True)[board].ok
    second = update(PlaybackEvent).where(PlaybackEvent.event_id == plays[4]["event_id"])
    found = tampered(second.values(chain_seq=7), second.values(chain_seq=5))  # slipped past the head
    assert not found.ok
    found = tampered(second.values(chain_seq=None), second.values(chain_seq=5))  # outside the chain
    assert not found.ok and found.problem.kind == "inserted"

