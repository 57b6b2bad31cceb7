"""Playback-log ingestion through the HTTP API into PostgreSQL, against a raw executemany.

Target: >= 20,000 plays/s through `POST /api/v1/screens/<id>/playlogs` in signed
batches of 500, and >= 0.3 of a raw psycopg `executemany` into the same table in the
same run.

    .venv/bin/python bench/bench_ingest.py [--database-url postgresql:///panoled] [--plays 200000]
        [--batch 500] [--boards 50] [--clients 16] [--workers N] [--threads 4] [--profile]

Creates a scratch database `panoled_bench_ingest` on the server named by
`--database-url` or PANOLED_DATABASE__URL (PostgreSQL only), migrated, with
`--boards` boards registered through the service layer and a manifest each naming
three campaign assets. The app is served on 127.0.0.1 by gunicorn (gthread workers:
several processes, several threads each, keep-alive), as in production. Then:
  - HTTP: `--clients` threads, each with its own keep-alive session, post the
    pre-built batches (plays of one board, 15 s each, in the order a board plays
    them) signed at send time, boards interleaved; every answer must be 200 with all
    plays new. Plays/s is the number of plays over the wall-clock time from the
    first post to the last answer.
  - raw: the same number of fresh rows, same columns as ingestion stores (names,
    flags, chain place and hash included, built before the clock starts), through
    one psycopg connection: `cursor.executemany(INSERT …)` per batch, a commit per
    batch, as each HTTP batch is one transaction.
Both rates, their ratio, the cores, the load average and the CPU time spent by the
app server, by PostgreSQL (every `postgres` process on this machine) and by the
posting clients are printed; the database
is dropped at the end. Afterwards the chains of a few boards are verified and the
row count checked, so a fast but wrong run does not pass unnoticed.
`--profile` instead runs a cProfile of ingestion in this process (the view called
through Flask's test client, no HTTP server) and prints where the time goes.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import queue
import secrets
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import psycopg  # noqa: E402
import requests  # noqa: E402
from psycopg.types.json import Json  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from cms import create_app  # noqa: E402
from cms.config import load_config  # noqa: E402
from cms.extensions import db  # noqa: E402
from display_adapters.signing import board_key, signed_headers  # noqa: E402
from serving import cpu_seconds, database, gunicorn, postgres_pids, worker_pids  # noqa: E402

SCRATCH = "panoled_bench_ingest"
ASSETS = (101, 102, 103)  # named by every board's manifest, each for campaign CAMPAIGN
CAMPAIGN = 4
TARGET_RATE = 20_000
TARGET_RATIO = 0.3
COLUMNS = ("screen_id", "event_id", "asset_id", "asset_name", "campaign_id", "campaign_title", "screen_code",
           "screen_name", "manifest_version", "started_at", "ended_at", "frame_hash", "received_at", "flags",
           "chain_seq", "chain_hash")


@dataclass(frozen=True)
class Board:
    id: int
    secret: str
    code: str
    name: str


@dataclass(frozen=True)
class Batch:
    board: Board
    body: bytes
    plays: int


def register_boards(count: int, first_code: str) -> list[Board]:
    """Boards through the service layer (inside an app context), each with a manifest naming ASSETS."""
    from cms.models import Manifest
    from cms.services.audit import Actor
    from cms.services.screens import ScreenInput, create_screen

    boards = []
    made_at = datetime.now(UTC) - timedelta(days=30)
    for n in range(count):
        screen, secret = create_screen(ScreenInput(name=f"Bảng {first_code}{n:03d}", code=f"{first_code}{n:03d}",
                                                   width=960, height=320, adapter_kind="webplayer"),
                                       Actor.command_line())
        screen.created_at = made_at
        body = {"schema": "panoled.manifest/1", "version": 1, "generated_at": made_at.isoformat(),
                "media": [{"asset_id": a, "campaign_id": CAMPAIGN, "kind": "poster", "name": f"poster-{a}.png"}
                          for a in ASSETS], "playlists": [], "segments": []}
        db.session.add(Manifest(screen_id=screen.id, version=1, content_hash=f"{screen.id:064d}", valid_from=made_at,
                                valid_until=made_at + timedelta(days=60), body=body, boundaries=[], created_at=made_at))
        boards.append(Board(screen.id, secret, screen.code, screen.name))
    db.session.commit()
    return boards


def board_plays(count: int, start: datetime) -> Iterator[dict[str, Any]]:
    """A board's plays back to back, 15 s each, cycling through the manifest's assets."""
    for n in range(count):
        begin = start + timedelta(seconds=15 * n)
        yield {"event_id": str(uuid.uuid4()), "asset_id": ASSETS[n % len(ASSETS)], "manifest_version": 1,
               "start": begin.isoformat(), "end": (begin + timedelta(seconds=15)).isoformat(), "frame_hash": None}


def build_batches(boards: list[Board], plays: int, size: int) -> list[Batch]:
    """`plays` plays in batches of `size`, boards taking turns, each board's batches in play order."""
    per_board = -(-plays // len(boards))
    start = datetime.now(UTC) - timedelta(seconds=15 * per_board + 3600)
    lanes: list[list[Batch]] = []
    left = plays
    for board in boards:
        mine = min(per_board, left)
        left -= mine
        played = list(board_plays(mine, start))
        lanes.append([Batch(board, json.dumps({"plays": played[i:i + size]}).encode(), len(played[i:i + size]))
                      for i in range(0, mine, size)])
    return [lane[i] for i in range(max(map(len, lanes))) for lane in lanes if i < len(lane)]


def post_all(base: str, batches: list[Batch], clients: int) -> float:
    """Seconds to post every batch from `clients` threads; fails on any answer but all-new 200."""
    work: queue.SimpleQueue[Batch] = queue.SimpleQueue()
    for batch in batches:
        work.put(batch)
    problems: list[str] = []
    ready = threading.Barrier(clients + 1)

    def client() -> None:
        with requests.Session() as session:
            ready.wait()
            while not problems:
                try:
                    batch = work.get_nowait()
                except queue.Empty:
                    return
                headers = {"Authorization": f"Bearer {batch.board.secret}", "Content-Type": "application/json",
                           **signed_headers(board_key(batch.board.secret), batch.body)}
                answer = session.post(f"{base}/api/v1/screens/{batch.board.id}/playlogs", data=batch.body,
                                      headers=headers, timeout=120)
                if answer.status_code != 200 or len(answer.json()["new"]) != batch.plays:
                    problems.append(f"board {batch.board.id}: {answer.status_code} {answer.text[:300]}")

    threads = [threading.Thread(target=client, name=f"client-{n}") for n in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if problems:
        raise SystemExit(f"{len(problems)} batches failed, first: {problems[0]}")
    return seconds


def raw_rows(boards: list[Board], plays: int, size: int) -> list[list[tuple[Any, ...]]]:
    """Fresh rows shaped as ingestion stores them, in batches of `size`."""
    now = datetime.now(UTC)
    per_board = -(-plays // len(boards))
    start = now - timedelta(seconds=15 * per_board + 3600)
    rows: list[tuple[Any, ...]] = []
    for board in boards:
        for seq, play in enumerate(board_plays(min(per_board, plays - len(rows)), start), start=1):
            rows.append((board.id, play["event_id"], play["asset_id"], f"poster-{play['asset_id']}.png", CAMPAIGN, "",
                         board.code, board.name, 1, datetime.fromisoformat(play["start"]),
                         datetime.fromisoformat(play["end"]), None, now, Json([]), seq, secrets.token_hex(32)))
    return [rows[i:i + size] for i in range(0, len(rows), size)]


def executemany_seconds(url: str, batches: list[list[tuple[Any, ...]]]) -> float:
    statement = (f"INSERT INTO playback_events ({', '.join(COLUMNS)}) "
                 f"VALUES ({', '.join(['%s'] * len(COLUMNS))})")
    with psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)) as connection:
        started = time.perf_counter()
        for batch in batches:
            with connection.cursor() as cursor:
                cursor.executemany(statement, batch)
            connection.commit()
        return time.perf_counter() - started


def check(app: Any, boards: list[Board], plays: int) -> str:
    """Every play stored once and a few boards' chains intact: a fast wrong run is no result."""
    from cms.models import PlaybackEvent, Screen
    from cms.services.playlog_chain import verify

    with app.app_context():
        ids = [b.id for b in boards]
        stored = db.session.scalar(select(func.count()).select_from(PlaybackEvent).where(PlaybackEvent.screen_id.in_(ids)))
        if stored != plays:
            raise SystemExit(f"{stored} plays stored, {plays} sent")
        for board in boards[:3]:
            report = verify(db.session.get(Screen, board.id))
            if not report.ok:
                raise SystemExit(f"chain of board {board.id} does not verify: {report.problem}")
        return f"{stored:,} plays stored once each; chains of {min(3, len(boards))} boards verify"


def profile(app: Any, batches: list[Batch]) -> None:
    """cProfile of the playlog view called through the test client (no HTTP server)."""
    client = app.test_client()
    profiler = cProfile.Profile()
    started = time.perf_counter()
    sent = 0
    profiler.enable()
    for batch in batches:
        headers = {"Authorization": f"Bearer {batch.board.secret}", "Content-Type": "application/json",
                   **signed_headers(board_key(batch.board.secret), batch.body)}
        answer = client.post(f"/api/v1/screens/{batch.board.id}/playlogs", data=batch.body, headers=headers)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        sent += batch.plays
    profiler.disable()
    seconds = time.perf_counter() - started
    print(f"in process, one thread, under cProfile: {sent:,} plays in {seconds:.2f} s ({sent / seconds:,.0f} plays/s)")
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(30)
        print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("PANOLED_DATABASE__URL") or None,
                        help="a PostgreSQL server (the database name is replaced by a scratch one)")
    parser.add_argument("--plays", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--boards", type=int, default=50)
    parser.add_argument("--clients", type=int, default=16, help="posting threads, one keep-alive session each")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1), help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn process")
    parser.add_argument("--profile", action="store_true", help="profile ingestion in this process instead")
    args = parser.parse_args()
    if not (args.database_url or "").startswith("postgresql"):
        raise SystemExit("a PostgreSQL server is required: --database-url postgresql:///panoled "
                         "or PANOLED_DATABASE__URL")

    with database(args.database_url, SCRATCH) as url, tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ, PANOLED_DATABASE__URL=url, PANOLED_STORAGE__DATA_DIR=str(Path(folder) / "data"),
                   PANOLED_MEDIA__WORKERS="0")
        # One app here for set-up and checks; it writes the secret key the server's workers then read.
        app = create_app(load_config(environ=env))
        with app.app_context():
            boards = register_boards(args.boards, "ING-")
            raw_boards = register_boards(args.boards, "RAW-")
        print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.1f}")
        batches = build_batches(boards, args.plays, args.batch)
        if args.profile:
            profile(app, batches[: max(1, 20_000 // args.batch)])
            return
        print(f"HTTP: {args.plays:,} plays in {len(batches)} signed batches of {args.batch} from {args.boards} boards, "
              f"{args.clients} client threads; gunicorn {args.workers} workers x {args.threads} threads")
        options = ["--workers", str(args.workers), "--threads", str(args.threads), "--worker-class", "gthread",
                   "--keep-alive", "30", "--log-level", "warning"]
        with gunicorn(env, options) as (base, master):
            workers = worker_pids(master)
            cpu_before, database_before = cpu_seconds(workers), cpu_seconds(postgres_pids())
            client_before = time.process_time()
            http_seconds = post_all(base, batches, args.clients)
            client_cpu = time.process_time() - client_before
            server_cpu = cpu_seconds(workers) - cpu_before
            database_cpu = cpu_seconds(postgres_pids()) - database_before  # gunicorn's connections are still open
            load = os.getloadavg()[0]
        http_rate = args.plays / http_seconds
        print(f"  {http_seconds:.2f} s, {http_rate:,.0f} plays/s (target >= {TARGET_RATE:,}), load average {load:.1f}")
        print(f"  CPU: app server {server_cpu:.1f} s ({server_cpu / args.plays * 1e6:.0f} µs a play), "
              f"PostgreSQL on this machine {database_cpu:.1f} s ({database_cpu / args.plays * 1e6:.0f} µs a play), "
              f"the posting clients {client_cpu:.1f} s")
        print(f"  {check(app, boards, args.plays)}")

        rows = raw_rows(raw_boards, args.plays, args.batch)
        database_before = cpu_seconds(postgres_pids())
        raw_seconds = executemany_seconds(url, rows)
        database_cpu = cpu_seconds(postgres_pids()) - database_before
        raw_rate = args.plays / raw_seconds
        print(f"raw executemany: {args.plays:,} rows in batches of {args.batch}, a commit each, one connection")
        print(f"  {raw_seconds:.2f} s, {raw_rate:,.0f} rows/s; PostgreSQL CPU {database_cpu:.1f} s "
              f"({database_cpu / args.plays * 1e6:.0f} µs a row)")
        print(f"ratio HTTP / raw: {http_rate / raw_rate:.2f} (target >= {TARGET_RATIO})")
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
