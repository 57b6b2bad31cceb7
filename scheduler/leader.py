"""Exactly one active scheduler per database.

On PostgreSQL the leader holds a session advisory lock on a connection of its
own: if the process dies, the server closes the session and the lock is free at
once. On SQLite the leader holds an exclusive `flock` on a file beside the data,
which the kernel releases when the process dies. A stand-by keeps trying.
"""
from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import Protocol

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

# pg_advisory_lock takes a bigint: the first 8 bytes of sha256(b"panoled-scheduler").
LOCK_KEY = int.from_bytes(hashlib.sha256(b"panoled-scheduler").digest()[:8], "big", signed=True)

log = logging.getLogger("panoled.scheduler")


class Leadership(Protocol):
    def try_acquire(self) -> bool: ...

    def still_held(self) -> bool: ...

    def release(self) -> None: ...

    def holder(self) -> str:
        """Who holds the lock now, for a stand-by's log ("" when unknown)."""
        ...


class PostgresLeadership:
    def __init__(self, url: str, name: str = "") -> None:
        # Keepalives both ways: a leader whose machine loses power or network is
        # noticed by the server (and its lock freed) within about 20 s, and a leader
        # cut off from the server finds out instead of waiting on a dead socket.
        self._engine = create_engine(url, poolclass=NullPool, connect_args={
            "connect_timeout": 10, "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 5, "keepalives_count": 3,
            "tcp_user_timeout": 20_000, "application_name": f"panoled-scheduler {name}".strip()[:63]})
        self._connection: Connection | None = None
        self._last_error = ""
        self._lock = threading.Lock()  # the jobs ask from several threads; a connection is not shared between them

    def try_acquire(self) -> bool:
        with self._lock:
            return self._try_acquire()

    def _try_acquire(self) -> bool:
        try:
            if self._connection is None:
                self._connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                for setting in ("tcp_keepalives_idle = 5", "tcp_keepalives_interval = 5", "tcp_keepalives_count = 3",
                                "tcp_user_timeout = 20000", "statement_timeout = '10s'"):
                    self._connection.execute(text(f"SET {setting}"))
            got = bool(self._connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}).scalar())
        except SQLAlchemyError as error:
            self._complain(error)
            self._drop()
            return False
        self._last_error = ""
        return got

    def _complain(self, error: SQLAlchemyError) -> None:
        """Says once (not every poll) why the database cannot be asked; the URL's password never appears."""
        message = str(getattr(error, "orig", None) or error).strip().splitlines()[0][:300]
        if message != self._last_error:
            log.warning("scheduler lock: the database did not answer: %s", message)
            self._last_error = message

    def holder(self) -> str:
        with self._lock:
            if self._connection is None:
                return ""
            try:
                row = self._connection.execute(text(
                    "SELECT a.pid, a.application_name, a.client_addr, a.backend_start FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
                    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                    "AND l.objsubid = 1 AND l.classid = CAST(:high AS oid) AND l.objid = CAST(:low AS oid)"),
                    {"high": (LOCK_KEY >> 32) & 0xFFFFFFFF, "low": LOCK_KEY & 0xFFFFFFFF}).first()
            except SQLAlchemyError as error:
                self._complain(error)
                self._drop()
                return ""
        if row is None:
            return ""
        return f"server process {row.pid} ({row.application_name or 'unnamed'}, from {row.client_addr or 'local socket'}, " \
               f"connected {row.backend_start:%Y-%m-%d %H:%M:%S})"

    def still_held(self) -> bool:
        """Asks the server, on the lock's own session, whether this session holds the lock."""
        with self._lock:
            return self._still_held()

    def _still_held(self) -> bool:
        if self._connection is None:
            return False
        try:
            held = self._connection.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted "
                "AND objsubid = 1 AND classid = CAST(:high AS oid) AND objid = CAST(:low AS oid)"),
                {"high": (LOCK_KEY >> 32) & 0xFFFFFFFF, "low": LOCK_KEY & 0xFFFFFFFF}).scalar()
        except SQLAlchemyError:
            self._drop()
            return False
        return bool(held)

    def release(self) -> None:
        with self._lock:
            if self._connection is not None:
                try:
                    self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                except SQLAlchemyError:
                    pass
            self._drop()
            self._engine.dispose()

    def _drop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except SQLAlchemyError:
                pass
            self._connection = None


class FileLeadership:
    def __init__(self, path: Path) -> None:
        self._path, self._fd = path, None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def still_held(self) -> bool:
        return self._fd is not None

    def holder(self) -> str:
        try:
            pid = self._path.read_text().strip()
        except OSError:
            return ""
        return f"process {pid} (lock file {self._path})" if pid else ""

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def leadership_for(database_url: str, data_dir: Path, name: str = "") -> Leadership:
    """The lock for this database: on SQLite a file beside the database file itself, so
    processes sharing the database share the lock whatever their data folders."""
    if database_url.startswith("postgresql"):
        return PostgresLeadership(database_url, name)
    database = make_url(database_url).database
    if database and database != ":memory:":
        return FileLeadership(Path(database).resolve().with_name(Path(database).name + ".scheduler-lock"))
    return FileLeadership(data_dir / "scheduler.lock")
