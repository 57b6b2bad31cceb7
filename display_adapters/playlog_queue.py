"""A board's durable queue of playback events: SQLite (WAL) in its state folder.

A play is written once it is complete and stays until the CMS has answered for it
(new or duplicate), so a board that loses power or its network keeps every play
it already recorded and sends it again later; the CMS keeps each event once.
Beside the queue, the board keeps its own tally of every play it ever recorded,
per asset, written in the same transaction: what the CMS holds can be checked
against it.
"""
from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class QueueWriteFailed(OSError):
    """A play could not be written (the disk is full, the folder is gone)."""


@dataclass(frozen=True)
class QueuedPlay:
    event_id: str
    asset_id: int
    manifest_version: int
    start: str  # ISO 8601, UTC
    end: str
    frame_hash: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "asset_id": self.asset_id, "manifest_version": self.manifest_version,
                "start": self.start, "end": self.end, "frame_hash": self.frame_hash}


class PlaylogQueue:
    """Plays waiting for the CMS, oldest first. Thread-safe; one connection per queue."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a play the board recorded survives a power cut
        self._db.execute("CREATE TABLE IF NOT EXISTS plays (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                         " event_id TEXT NOT NULL UNIQUE, asset_id INTEGER NOT NULL,"
                         " manifest_version INTEGER NOT NULL, start TEXT NOT NULL, end TEXT NOT NULL, frame_hash TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS tally (asset_id INTEGER PRIMARY KEY, plays INTEGER NOT NULL)")

    def put(self, plays: list[QueuedPlay]) -> None:
        """Writes the plays in one transaction (all or none); QueueWriteFailed when it cannot."""
        if not plays:
            return
        rows = [(p.event_id, p.asset_id, p.manifest_version, p.start, p.end, p.frame_hash) for p in plays]
        with self._lock:
            try:
                with self._db:
                    self._db.execute("BEGIN IMMEDIATE")
                    counts: dict[int, int] = {}
                    for row in rows:
                        if self._db.execute("INSERT OR IGNORE INTO plays (event_id, asset_id, manifest_version, start,"
                                            " end, frame_hash) VALUES (?, ?, ?, ?, ?, ?)", row).rowcount:
                            counts[row[1]] = counts.get(row[1], 0) + 1
                    self._db.executemany("INSERT INTO tally (asset_id, plays) VALUES (?, ?) ON CONFLICT (asset_id)"
                                         " DO UPDATE SET plays = plays + excluded.plays", list(counts.items()))
            except sqlite3.Error as error:
                raise QueueWriteFailed(f"cannot write {len(rows)} play(s) to {self.path}: {error}") from None

    def oldest(self, limit: int) -> list[QueuedPlay]:
        with self._lock:
            rows = self._db.execute("SELECT event_id, asset_id, manifest_version, start, end, frame_hash FROM plays"
                                    " ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [QueuedPlay(*row) for row in rows]

    def remove(self, event_ids: list[str]) -> None:
        """Forget plays the CMS has answered for."""
        if not event_ids:
            return
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("DELETE FROM plays WHERE event_id = ?", [(e,) for e in event_ids])

    def tally(self) -> dict[int, int]:
        """Every play ever recorded, per asset (sent or not)."""
        with self._lock:
            return dict(self._db.execute("SELECT asset_id, plays FROM tally").fetchall())

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM plays").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
