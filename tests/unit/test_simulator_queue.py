"""A simulated board's queue of plays: durable across a restart, emptied only for
plays the CMS answered for, and a full disk loses nothing already queued."""
from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from display_adapters.playlog_queue import PlaylogQueue, QueuedPlay
from display_adapters.virtual_board import BoardIdentity, Faults, SimClock, VirtualBoard

REPO = Path(__file__).resolve().parents[2]


def play(n: int) -> QueuedPlay:
    return QueuedPlay(str(uuid.UUID(int=n)), 10 + n, 3, f"2024-06-05T01:00:{n:02d}Z", f"2024-06-05T01:00:{n + 1:02d}Z")


def test_queued_plays_survive_a_restart_in_order(tmp_path: Path) -> None:
    queue = PlaylogQueue(tmp_path / "q.sqlite3")
    queue.put([play(1), play(2)])
    queue.put([play(3)])
    queue.close()
    again = PlaylogQueue(tmp_path / "q.sqlite3")
    assert [p.event_id for p in again.oldest(10)] == [play(n).event_id for n in (1, 2, 3)]
    assert again.oldest(10)[0] == play(1)


def test_a_killed_process_leaves_its_queued_plays(tmp_path: Path) -> None:
    script = (f"import os, sys; sys.path.insert(0, {str(REPO)!r})\n"
              "from pathlib import Path\n"
              "from display_adapters.playlog_queue import PlaylogQueue, QueuedPlay\n"
              f"q = PlaylogQueue(Path({str(tmp_path / 'q.sqlite3')!r}))\n"
              "q.put([QueuedPlay('e-1', 5, 1, '2024-06-05T01:00:00Z', '2024-06-05T01:00:10Z')])\n"
              "os.kill(os.getpid(), 9)\n")
    result = subprocess.run([sys.executable, "-c", script], timeout=60)
    assert result.returncode == -9
    queue = PlaylogQueue(tmp_path / "q.sqlite3")
    assert [p.event_id for p in queue.oldest(10)] == ["e-1"]


def test_a_play_leaves_the_queue_only_when_removed(tmp_path: Path) -> None:
    queue = PlaylogQueue(tmp_path / "q.sqlite3")
    queue.put([play(n) for n in range(5)])
    batch = queue.oldest(3)
    assert len(batch) == 3 and len(queue) == 5  # reading a batch to send removes nothing
    queue.remove([batch[0].event_id, batch[2].event_id])
    assert [p.event_id for p in queue.oldest(10)] == [play(n).event_id for n in (1, 3, 4)]
    queue.put([play(1)])  # the same event again is kept once
    assert len(queue) == 3


def test_a_full_disk_keeps_what_was_queued_and_writes_the_rest_when_space_returns(tmp_path: Path) -> None:
    faults = Faults()
    board = VirtualBoard(BoardIdentity("SIM-01", 1, 960, 320, "pnb_test"), tmp_path, "http://127.0.0.1:9", SimClock(1.0),
                         faults)
    board._store([play(1)])
    faults.disk_full = True
    board._store([play(2), play(3)])
    state = board.describe()
    assert state["queue_length"] == 1 and state["unwritten_plays"] == 2 and "disk full" in state["record_error"]
    faults.disk_full = False
    board._store([])
    assert [p.event_id for p in board.queue.oldest(10)] == [play(n).event_id for n in (1, 2, 3)]
    assert board.describe()["record_error"] == ""
    board.close()


def test_a_board_repr_never_shows_its_secret() -> None:
    identity = BoardIdentity("SIM-01", 1, 960, 320, "pnb_very_secret")
    assert "pnb_very_secret" not in repr(identity) and identity.key != identity.secret


def test_the_simulated_clock_runs_at_its_speed_with_skew() -> None:
    start = datetime(2024, 6, 5, 1, 0, tzinfo=UTC)
    clock = SimClock(3600.0, start)
    assert clock.now(120).timestamp() - start.timestamp() >= 120


# A 10 s poster looping all day on 5 June 2024, as manifest version 2.
ONE_POSTER = {"version": 2, "media": [], "playlists": [{"playlist_id": 1, "items": [
    {"asset_id": 9, "campaign_id": 4, "duration": 10}]}],
    "segments": [{"start": "2024-06-05T00:00:00Z", "end": "2024-06-06T00:00:00Z", "kind": "fill", "rule_id": 1,
                  "playlist_id": 1, "first_item": 0, "truncated": False}]}


class StoppedClock(SimClock):
    """Simulated time that moves only when the test says so."""

    def __init__(self, at: datetime) -> None:
        super().__init__(1.0, at)
        self.at = at

    def now(self, skew_seconds: float = 0.0) -> datetime:
        return self.at + timedelta(seconds=skew_seconds)


def test_a_clock_set_forward_records_no_plays_for_the_time_it_skipped(tmp_path: Path) -> None:
    start = datetime(2024, 6, 5, 1, 0, tzinfo=UTC)
    clock, faults = StoppedClock(start), Faults()
    board = VirtualBoard(BoardIdentity("SIM-02", 2, 960, 320, "pnb_test"), tmp_path, "http://127.0.0.1:9", clock, faults,
                         heartbeat_seconds=10 ** 6)
    board.faults.offline_until = float("inf")  # no network: only playing and recording
    board._start_playing(ONE_POSTER, start)
    clock.at = start + timedelta(seconds=35)
    board.step()
    assert [p.start for p in board.queue.oldest(10)] == ["2024-06-05T01:00:00Z", "2024-06-05T01:00:10Z",
                                                         "2024-06-05T01:00:20Z"]
    faults.clock_skew_seconds = 3600
    board.step()
    clock.at = start + timedelta(seconds=60)
    board.step()
    starts = [p.start for p in board.queue.oldest(10)]
    assert starts[3:] == ["2024-06-05T02:00:40Z", "2024-06-05T02:00:50Z"] and all(p.manifest_version == 2 for p in board.queue.oldest(10))
    board.close()


def test_the_tally_counts_every_recorded_play_once_and_outlives_the_queue(tmp_path: Path) -> None:
    queue = PlaylogQueue(tmp_path / "q.sqlite3")
    queue.put([play(1), play(2), QueuedPlay("e-x", 11, 3, "2024-06-05T02:00:00Z", "2024-06-05T02:00:10Z")])
    queue.put([play(1)])  # a play stored twice is counted once
    queue.remove([play(1).event_id, play(2).event_id])  # sent: gone from the queue, not from the tally
    queue.close()
    again = PlaylogQueue(tmp_path / "q.sqlite3")
    assert again.tally() == {11: 2, 12: 1} and len(again) == 1


def test_a_dark_panel_records_nothing_until_it_is_lit_again(tmp_path: Path) -> None:
    start = datetime(2024, 6, 5, 1, 0, tzinfo=UTC)
    clock, faults = StoppedClock(start), Faults()
    board = VirtualBoard(BoardIdentity("SIM-03", 3, 960, 320, "pnb_test"), tmp_path, "http://127.0.0.1:9", clock, faults,
                         heartbeat_seconds=10 ** 6)
    faults.offline_until = float("inf")
    board._start_playing(ONE_POSTER, start)
    clock.at = start + timedelta(seconds=25)
    faults.apply({"screen_off": True})
    board.step()  # the two finished plays count; the one on air is cut
    clock.at = start + timedelta(seconds=300)
    board.step()
    assert board.describe()["now_playing"] is None and board.play_at(clock.at) is None
    faults.apply({"screen_off": False})
    board.step()
    clock.at = start + timedelta(seconds=325)
    board.step()
    assert [p.start for p in board.queue.oldest(10)] == ["2024-06-05T01:00:00Z", "2024-06-05T01:00:10Z",
                                                         "2024-06-05T01:05:00Z", "2024-06-05T01:05:10Z"]
    assert board.describe()["recorded"] == {"9": 4}
    board.close()
