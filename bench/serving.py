"""What the benchmarks that serve the app share: a scratch database, gunicorn on
127.0.0.1, and figures about processes read from /proc (CPU time, memory).

Imported by bench_reconcile.py, bench_report.py, bench_ingest.py and bench_soak.py.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cms.database import upgrade  # noqa: E402


@contextmanager
def database(url: str | None, name: str | None = None, keep: bool = False) -> Iterator[str]:
    """A migrated, empty database: a temporary SQLite file, or `name` (default `<name>_bench`)
    on the given PostgreSQL server, dropped afterwards unless `keep`."""
    if url is None:
        folder = tempfile.mkdtemp(prefix="panoled-bench-db-")
        path = f"sqlite:///{folder}/bench.sqlite3"
        engine = create_engine(path)
        upgrade(engine)
        engine.dispose()
        try:
            yield path
        finally:
            if not keep:
                shutil.rmtree(folder, ignore_errors=True)
        return
    server = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = name or f"{server.database or 'panoled'}_bench"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    target = server.set(database=name).render_as_string(hide_password=False)
    engine = create_engine(target)
    upgrade(engine)
    engine.dispose()
    try:
        yield target
    finally:
        if not keep:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of the processes so far (from /proc): on a shared machine wall time alone misleads."""
    return sum(cpu_by_process(pids).values())


def cpu_by_process(pids: list[int]) -> dict[int, float]:
    """Each live process's user + system CPU seconds so far; processes that ended are left out."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def resident_kb(pid: int) -> int | None:
    """The process's resident memory (VmRSS) in KiB; None once it has ended."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def postgres_pids(database_name: str | None = None) -> list[int]:
    """Every process of a PostgreSQL server on this machine (server, backends, WAL writer…),
    or only the backends connected to `database_name`."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit() or (entry / "comm").read_text().strip() != "postgres":
                continue
            if database_name is None or f" {database_name} " in (entry / "cmdline").read_text().replace("\0", " "):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def worker_pids(master: int) -> list[int]:
    """The child processes of `master` (gunicorn's workers)."""
    try:
        return [int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    except FileNotFoundError:
        return []


def stop_process(process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    """SIGTERM, then SIGKILL if it has not ended within `seconds`."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def gunicorn(env: dict[str, str], options: list[str], output: IO[bytes] | None = None,
             start_seconds: float = 60) -> Iterator[tuple[str, int]]:
    """The app (`cms:create_app()`) under gunicorn with `options`, on a free port of 127.0.0.1,
    once it answers /healthz: (base URL, master pid). Stopped with SIGTERM on leaving."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), *options, "--bind", f"127.0.0.1:{port}", "cms:create_app()"],
        env=env, cwd=REPO, stdout=output, stderr=subprocess.STDOUT if output else None)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_seconds
        while True:
            try:
                requests.get(f"{base}/healthz", timeout=5)
                break
            except (requests.ConnectionError, requests.Timeout):  # workers still importing the app
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)
        yield base, server.pid
    finally:
        stop_process(server)
