"""Load and soak: 1,000 boards polling their manifests and 20 staff browsing, for 10 minutes.

Targets (issue 8): p95 <= 200 ms (board polls and staff pages), no errors, and each
server process's memory (VmRSS) growing by under 10 % from the end of a warm-up minute
to the end.

    .venv/bin/python bench/bench_soak.py [--minutes 10] [--boards 1000] [--staff 20]
        [--database-url postgresql:///panoled | sqlite] [--changes-per-minute 1] [--lanes 100]
        [--workers N] [--threads N] [--recycle-workers] [--warmup-seconds 60] [--keep]

Everything runs on this machine and talks to 127.0.0.1 only. Set-up: a scratch
`panoled_soak` PostgreSQL database on the server named by `--database-url` or
PANOLED_DATABASE__URL (default the local server; `sqlite` for a temporary SQLite
file), `panoled init`, the demo plan and `panoled demo`'s boards, banners (rendered
and approved), playlists and rules, then boards of the same sizes and districts up to
`--boards`, all of the web-player kind (they pull; nothing is pushed), each with its
own secret, and `--staff` accounts (editors, approvers, auditors, operators). One
`SchedulerService.run_once()` builds every board's real manifest. Then the production
topology: gunicorn with deploy/gunicorn.conf.py (GUNICORN_WORKERS, GUNICORN_THREADS
from `--workers`, `--threads`; access log to a file) and a `panoled scheduler run`
process beside it. Workers are not renewed after `max_requests` during the soak
(`--max-requests 0`), so a leak cannot hide behind a new process; `--recycle-workers`
keeps the production setting. gunicorn and the scheduler get the `Environment=` of their systemd
units (MALLOC_ARENA_MAX), and the scheduler their `Nice=`.

Before the run the boards come online: each fetches its manifest once, over 100
connections at once, as a board that has been running holds its manifest. That first
fetch of 1,000 full manifests (as after a fleet-wide restart) is printed apart, with
its own latency, and not counted in the run's figures.

Load, for `--minutes`:
  - every board GETs `/api/v1/screens/<id>/manifest` with its secret every 10 s,
    the boards' first polls spread evenly over the first 10 s (jittered); each sends
    back the ETag it last got: 304 expected while unchanged, and a 200 carries a new
    version, whose ETag the board keeps. Answers' signatures are checked as a board
    does. `--lanes` client threads share the boards, one keep-alive connection each,
    so a lane falls behind only when its answers take over a second (how late polls
    were sent is printed);
  - every staff user signs in through the login form (CSRF token) and browses like a
    person, 2-6 s between pages: the campaign list, a campaign, its media library,
    on air, a board's week calendar, the acceptance report page (operators, who may
    not read reports, open the board list instead) and the public website hub;
    auditors also run the report of a campaign's last week, at most every 2 minutes
    each (a kind of its own, held to the report's own target, <= 3 s, as in
    bench_report.py);
  - `--changes-per-minute` times a minute an editor adds a rule for one district's
    boards through the rule form, or deletes the one added before, so the scheduler
    makes new manifests for a third of the boards and those boards get 200s.
Any answer but the expected one (2xx, 304, or a sign-in's redirect) and any failed
request is an error. Printed: requests per second, latency p50/p95/p99/max per kind of
request, errors by kind, how late the client sent board polls (it must keep up), the
memory of every server process sampled every 10 s (gunicorn's master and each worker,
the scheduler; PostgreSQL's backends for this database in total, for information:
their RSS counts the shared buffers they touch), CPU time of the client and of the
servers, load average, and a PASS/FAIL line per target. The exit status is 1 when a
target is missed. Processes are stopped and the database dropped at the end
(`--keep` keeps the database and the data folder).
"""
from __future__ import annotations

import argparse
import heapq
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import requests  # noqa: E402
from flask import Flask  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from cms import create_app  # noqa: E402
from cms.config import load_config  # noqa: E402
from cms.extensions import db  # noqa: E402
from display_adapters.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, board_key, verify  # noqa: E402
from serving import (  # noqa: E402
    cpu_by_process, database, gunicorn, postgres_pids, resident_kb, stop_process, worker_pids,
)

SCRATCH = "panoled_soak"
POLL_SECONDS = 10.0
THINK_SECONDS = (2.0, 6.0)
SAMPLE_SECONDS = 10.0
REQUEST_TIMEOUT = 30.0
TARGET_P95 = 0.200
TARGET_GROWTH = 0.10
STAFF_ROLES = ("editor", "approver", "auditor", "operator")
CHANGE_GROUP = "TP Bà Rịa"  # one of the demo's three districts
CHANGE_CAMPAIGN = 6  # task number of a demo campaign with a published playlist
BOARD_304, BOARD_200, STAFF_PAGE, REPORT = "board 304", "board 200", "staff page", "report"
STAFF_CHANGE, SIGN_IN = "staff change", "sign-in"
TARGETED = (BOARD_304, BOARD_200, STAFF_PAGE)
REPORT_SECONDS = 120.0  # an auditor runs a report at most this often
TARGET_REPORT = 3.0  # the acceptance report's own target (bench_report.py)


# -- set-up ------------------------------------------------------------------

@dataclass
class Board:
    id: int
    secret: str
    key: str
    etag: str | None = None


@dataclass(frozen=True)
class Fleet:
    boards: list[Board]
    staff: list[tuple[str, str]]  # (e-mail, role)
    editor: str
    password: str
    campaigns: list[int]
    campaigns_with_media: list[int]
    change_playlist: int


def seed(app: Flask, boards: int, staff: int, today: date) -> Fleet:
    """The demo plan and demo content, `boards` web-player boards in the demo's districts and sizes, staff accounts."""
    from cms.cli import DEMO_PLAN
    from cms.models import Campaign, Playlist, Screen
    from cms.services.accounts import NewAccount, create_user, generate_password
    from cms.services.audit import Actor
    from cms.services.demo import BOARDS, seed_demo
    from cms.services.plan_import import heading_of, import_plan
    from cms.services.plan_reader import read_plan
    from cms.services.screens import ScreenInput, create_screen, rotate_secret

    config = app.config["PANOLED"]
    actor = Actor.command_line()
    with app.app_context():
        document = read_plan(DEMO_PLAN.read_bytes(), DEMO_PLAN.name)
        import_plan(document, heading_of(document), actor, DEMO_PLAN.name)
        db.session.commit()
        seed_demo(config, today)
        fleet: list[Board] = []
        demo = list(db.session.scalars(select(Screen).order_by(Screen.id)))
        fallback = demo[0].fallback_playlist_id
        for screen in demo:  # the demo's simulated boards become web players: every board here pulls
            screen.adapter_kind, screen.adapter_options = "webplayer", {}
            secret = rotate_secret(screen, actor)
            fleet.append(Board(screen.id, secret, board_key(secret)))
        for n in range(len(demo), boards):
            like = BOARDS[n % len(BOARDS)]
            screen, secret = create_screen(ScreenInput(
                name=f"{like.name} {n + 1:04d}", code=f"SOAK-{n + 1:04d}", width=like.width, height=like.height,
                adapter_kind="webplayer", group_name=like.group, address=like.address, pixel_pitch_mm=like.pitch,
                viewing_distance_m=like.distance), actor)
            screen.fallback_playlist_id = fallback
            fleet.append(Board(screen.id, secret, board_key(secret)))
        password = generate_password()
        accounts = [(f"staff{n + 1:02d}@soak.example.org", STAFF_ROLES[n % len(STAFF_ROLES)]) for n in range(staff)]
        editor = "changes@soak.example.org"
        for email, role in [*accounts, (editor, "editor")]:
            create_user(NewAccount(email=email, role=role, password=password), config.security, actor)
        db.session.commit()
        campaigns = list(db.session.scalars(select(Campaign.id).order_by(Campaign.id)))
        with_media = sorted(set(db.session.scalars(select(Playlist.campaign_id))))
        change_playlist = db.session.scalar(select(Playlist.id).join(Campaign).where(Campaign.number == CHANGE_CAMPAIGN))
        db.session.remove()
    return Fleet(fleet[:boards], accounts, editor, password, campaigns, with_media, change_playlist)


def build_manifests(app: Flask) -> str:
    """Every board's manifest, made by the scheduler as in production (one round, then it lets go)."""
    from scheduler.service import SchedulerService

    started = time.perf_counter()
    made, _pushed = SchedulerService(app, name="soak-set-up").run_once()
    return f"{made:,} manifests built by the scheduler in {time.perf_counter() - started:.1f} s"


# -- measuring ---------------------------------------------------------------

@dataclass
class Recorder:
    """Latencies per kind of request and errors per kind, from every client thread."""
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    first_error: dict[str, str] = field(default_factory=dict)
    lateness: list[float] = field(default_factory=list)
    resent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)

    def error(self, kind: str, detail: str) -> None:
        with self.lock:
            self.errors[kind] += 1
            self.first_error.setdefault(kind, detail[:300])

    def count(self) -> int:
        with self.lock:
            return sum(map(len, self.latencies.values())) + sum(self.errors.values())


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


@dataclass
class Sample:
    elapsed: float
    resident: dict[int, int]  # pid -> KiB
    postgres_kb: int
    postgres_backends: int


class MemoryWatch:
    """VmRSS of the server processes every SAMPLE_SECONDS, on its own thread."""

    def __init__(self, master: int, scheduler: int, database_name: str | None, started: float) -> None:
        self.master, self.scheduler, self.database_name, self.started = master, scheduler, database_name, started
        self.samples: list[Sample] = []
        self.labels: dict[int, str] = {master: "gunicorn master", scheduler: "scheduler"}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="memory", daemon=True)

    def servers(self) -> list[int]:
        workers = worker_pids(self.master)
        for pid in workers:
            self.labels.setdefault(pid, "gunicorn worker")
        return [self.master, *workers, self.scheduler]

    def sample(self) -> None:
        resident = {pid: kb for pid in self.servers() if (kb := resident_kb(pid)) is not None}
        backends = postgres_pids(self.database_name) if self.database_name else []
        self.samples.append(Sample(time.monotonic() - self.started, resident,
                                   sum(resident_kb(pid) or 0 for pid in backends), len(backends)))

    def _run(self) -> None:
        while True:
            self.sample()
            if self.stop.wait(SAMPLE_SECONDS):
                return

    def __enter__(self) -> MemoryWatch:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        self.sample()


# -- load ----------------------------------------------------------------------

def check_signature(board: Board, answer: requests.Response) -> None:
    verify(board.key, answer.headers.get(TIMESTAMP_HEADER), answer.headers.get(SIGNATURE_HEADER), answer.content)


def poll(session: requests.Session, base: str, board: Board, record: Recorder) -> None:
    """One manifest poll as a board makes it: its ETag back, a 304 or a new version."""
    headers = {"Authorization": f"Bearer {board.secret}"}
    if board.etag:
        headers["If-None-Match"] = board.etag
    began = time.perf_counter()
    try:
        answer = session.get(f"{base}/api/v1/screens/{board.id}/manifest", headers=headers, timeout=REQUEST_TIMEOUT)
        seconds = time.perf_counter() - began
        check_signature(board, answer)
    except requests.RequestException as failure:
        record.error(f"board: {type(failure).__name__}", str(failure))
        return
    except SignatureError as failure:
        record.error("board: signature", f"board {board.id}: {failure}")
        return
    etag = answer.headers.get("ETag")
    if answer.status_code == 304 and board.etag:
        record.ok(BOARD_304, seconds)
    elif answer.status_code == 200 and etag and etag != board.etag:
        if f'"v{answer.json().get("version")}"' != etag:
            record.error("board: body is not the ETag's version", f"board {board.id}: {etag}")
            return
        board.etag = etag
        record.ok(BOARD_200, seconds)
    elif answer.status_code == 200:
        record.error("board: 200 for an unchanged manifest", f"board {board.id}: {etag}")
    else:
        record.error(f"board: HTTP {answer.status_code}", f"board {board.id}: {answer.text[:200]}")


def board_lane(base: str, boards: list[tuple[Board, float]], stop_at: float, stop: threading.Event,
               record: Recorder) -> None:
    """Polls its boards every POLL_SECONDS from their first offsets, over one keep-alive connection."""
    due = [(first, n) for n, (_board, first) in enumerate(boards)]
    heapq.heapify(due)
    with requests.Session() as session:
        while due:
            when, n = heapq.heappop(due)
            if when >= stop_at or stop.wait(max(0.0, when - time.monotonic())):
                return
            with record.lock:
                record.lateness.append(time.monotonic() - when)
            poll(session, base, boards[n][0], record)
            heapq.heappush(due, (when + POLL_SECONDS, n))


CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = CSRF.search(html)
    if not match:
        raise LookupError("no CSRF token on the page")
    return match.group(1) or match.group(2)


def timed(record: Recorder, kind: str, call: Callable[[], requests.Response], expect: int,
          idempotent: bool = False) -> requests.Response | None:
    """The answer when it is the expected status, else None with the error recorded.

    An idempotent request that finds its kept-alive connection closed by the server (gunicorn
    closes idle ones after `keepalive` seconds, and a person thinks for about as long) is sent
    again once on a new connection, as browsers do; the time of both counts."""
    began = time.perf_counter()
    try:
        try:
            answer = call()
        except requests.ConnectionError as failure:
            if not idempotent or isinstance(failure, requests.Timeout):
                raise
            with record.lock:
                record.resent += 1
            answer = call()
    except requests.RequestException as failure:
        where = failure.request.url if failure.request is not None else ""
        record.error(f"{kind}: {type(failure).__name__}", f"{where}: {failure}")
        return None
    seconds = time.perf_counter() - began
    if answer.status_code != expect:
        record.error(f"{kind}: HTTP {answer.status_code}", f"{answer.request.method} {answer.url}: {answer.text[:200]}")
        return None
    record.ok(kind, seconds)
    return answer


def sign_in(session: requests.Session, base: str, email: str, password: str, record: Recorder) -> bool:
    """Through the login form, with its CSRF token, as a person does."""
    page = timed(record, SIGN_IN, lambda: session.get(f"{base}/login", timeout=REQUEST_TIMEOUT), 200, idempotent=True)
    if page is None:
        return False
    form = {"email": email, "password": password, "csrf_token": csrf_token(page.text)}
    answer = timed(record, SIGN_IN, lambda: session.post(f"{base}/login", data=form, allow_redirects=False,
                                                         timeout=REQUEST_TIMEOUT), 302)
    return answer is not None


def staff_pages(fleet: Fleet, role: str) -> list[tuple[str, Callable[[random.Random], str]]]:
    """The round a staff user makes: (kind, path chosen afresh at every visit)."""
    today = datetime.now(UTC).date()
    week = f"from={today - timedelta(days=6)}&to={today}"
    pages: list[tuple[str, Callable[[random.Random], str]]] = [
        (STAFF_PAGE, lambda rng: "/"),
        (STAFF_PAGE, lambda rng: f"/campaigns/{rng.choice(fleet.campaigns)}"),
        (STAFF_PAGE, lambda rng: f"/campaigns/{rng.choice(fleet.campaigns_with_media)}/media"),
        (STAFF_PAGE, lambda rng: "/screens/on-air"),
        (STAFF_PAGE, lambda rng: f"/schedule/boards/{rng.choice(fleet.boards).id}/week"),
        # Operators may not read reports: they open the board list instead.
        (STAFF_PAGE, lambda rng: "/reports/acceptance" if role != "operator" else "/screens/"),
    ]
    if role == "auditor":  # ... and auditors then run one: a campaign's last week
        pages.append((REPORT, lambda rng: f"/reports/acceptance?scope=campaign:{rng.choice(fleet.campaigns_with_media)}"
                                          f"&{week}"))
    return [*pages, (STAFF_PAGE, lambda rng: "/public/")]


def staff_user(base: str, fleet: Fleet, email: str, role: str, start_at: float, stop_at: float,
               stop: threading.Event, record: Recorder, rng: random.Random) -> None:
    """Signs in, then goes round its pages with a few seconds' thought between them until the end;
    a report at most every REPORT_SECONDS."""
    pages = staff_pages(fleet, role)
    if stop.wait(max(0.0, start_at - time.monotonic())):
        return
    with requests.Session() as session:
        if not sign_in(session, base, email, fleet.password, record):
            return
        visit, report_due = rng.randrange(len(pages)), time.monotonic() + rng.uniform(0, REPORT_SECONDS)
        while True:
            kind, path_of = pages[visit % len(pages)]
            visit += 1
            if kind == REPORT and time.monotonic() < report_due:
                continue
            think = rng.uniform(*THINK_SECONDS)
            if time.monotonic() + think >= stop_at or stop.wait(think):
                return
            if kind == REPORT:
                report_due = time.monotonic() + REPORT_SECONDS
            path = path_of(rng)
            timed(record, kind, lambda: session.get(f"{base}{path}", allow_redirects=False, timeout=REQUEST_TIMEOUT),
                  200, idempotent=True)


def rule_changes(base: str, fleet: Fleet, per_minute: float, start_at: float, stop_at: float,
                 stop: threading.Event, record: Recorder) -> list[str]:
    """An editor adds a rule for one district through the rule form, then deletes it, in turns."""
    done: list[str] = []
    if per_minute <= 0 or stop.wait(max(0.0, start_at - time.monotonic())):
        return done
    period = 60.0 / per_minute
    today = datetime.now(UTC).date()
    with requests.Session() as session:
        if not sign_in(session, base, fleet.editor, fleet.password, record):
            return done
        added: int | None = None
        next_at = time.monotonic()
        while not stop.wait(max(0.0, next_at - time.monotonic())) and time.monotonic() < stop_at:
            next_at += period
            get = (lambda: session.get(f"{base}/schedule/new", timeout=REQUEST_TIMEOUT)) if added is None else (
                lambda: session.get(f"{base}/schedule/{added}/delete", timeout=REQUEST_TIMEOUT))
            page = timed(record, STAFF_CHANGE, get, 200, idempotent=True)
            if page is None:
                continue
            if added is None:
                form = {"playlist_id": fleet.change_playlist, "groups": CHANGE_GROUP, "weekdays": list(range(7)),
                        "windows": "06:00-21:00", "priority": 7, "quota": "plays_per_hour", "plays_per_hour": 4,
                        "date_from": today.isoformat(), "date_to": (today + timedelta(days=7)).isoformat(),
                        "note": "soak", "csrf_token": csrf_token(page.text)}
                answer = timed(record, STAFF_CHANGE, lambda: session.post(
                    f"{base}/schedule/new", data=form, allow_redirects=False, timeout=REQUEST_TIMEOUT), 302)
                found = re.search(r"#rule-(\d+)", answer.headers.get("Location", "")) if answer is not None else None
                if answer is not None and found is None:
                    record.error(f"{STAFF_CHANGE}: no rule made", answer.headers.get("Location", ""))
                added = int(found.group(1)) if found else None
                done.append(f"added rule {added}")
            else:
                form = {"csrf_token": csrf_token(page.text)}
                rule = added
                if timed(record, STAFF_CHANGE, lambda: session.post(
                        f"{base}/schedule/{rule}/delete", data=form, allow_redirects=False,
                        timeout=REQUEST_TIMEOUT), 302) is not None:
                    done.append(f"deleted rule {rule}")
                added = None
    return done


def boards_online(base: str, fleet: Fleet, lanes: int) -> Recorder:
    """Before the measured run: every board fetches its manifest once (as a board that has been
    running holds it), over `lanes` connections at once. Measured apart, for information."""
    first = Recorder()

    def lane(boards: list[Board]) -> None:
        with requests.Session() as session:
            for board in boards:
                poll(session, base, board, first)

    threads = [threading.Thread(target=lane, args=(fleet.boards[n::lanes],), name=f"online-{n}") for n in range(lanes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return first


@dataclass(frozen=True)
class Load:
    boards: int
    staff: int
    minutes: float
    lanes: int
    changes_per_minute: float


def run_load(base: str, fleet: Fleet, load: Load, started: float, record: Recorder,
             progress: Callable[[float], None]) -> list[str]:
    """Every client thread until the end of the run; the editor's changes."""
    stop = threading.Event()
    stop_at = started + load.minutes * 60
    rng = random.Random(8)
    spacing = POLL_SECONDS / len(fleet.boards)
    lanes: list[list[tuple[Board, float]]] = [[] for _ in range(load.lanes)]
    for n, board in enumerate(fleet.boards):  # evenly spread over the first period, jittered within its slot
        lanes[n % load.lanes].append((board, started + n * spacing + rng.uniform(0, spacing)))
    threads = [threading.Thread(target=board_lane, args=(base, lane, stop_at, stop, record), name=f"lane-{n}")
               for n, lane in enumerate(lanes) if lane]
    for n, (email, role) in enumerate(fleet.staff):
        start_at = started + n * POLL_SECONDS / max(1, len(fleet.staff))
        threads.append(threading.Thread(target=staff_user, name=f"staff-{n}", args=(
            base, fleet, email, role, start_at, stop_at, stop, record, random.Random(n))))
    changes: list[str] = []
    threads.append(threading.Thread(target=lambda: changes.extend(rule_changes(
        base, fleet, load.changes_per_minute, started + 30, stop_at, stop, record)), name="editor"))
    for thread in threads:
        thread.start()
    try:
        while time.monotonic() < stop_at:
            time.sleep(min(60.0, max(0.0, stop_at - time.monotonic())))
            progress(time.monotonic() - started)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=REQUEST_TIMEOUT + 30)
    return changes


# -- report ----------------------------------------------------------------------

def milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def latency_table(record: Recorder) -> list[str]:
    lines = [f"  {'kind':<13}{'count':>8}{'p50':>10}{'p95':>10}{'p99':>10}{'max':>10}"]
    for kind in (BOARD_304, BOARD_200, STAFF_PAGE, REPORT, STAFF_CHANGE, SIGN_IN):
        values = record.latencies.get(kind, [])
        if values:
            lines.append(f"  {kind:<13}{len(values):>8,}" + "".join(
                f"{milliseconds(percentile(values, share)):>10}" for share in (0.50, 0.95, 0.99)) +
                f"{milliseconds(max(values)):>10}")
    return lines


def memory_lines(watch: MemoryWatch, warmup: float) -> tuple[list[str], float, str, list[str]]:
    """Per process: VmRSS at the end of the warm-up and at the end, and the growth; the largest growth,
    whose it is, and the processes that started or ended in between (a gunicorn worker that ended crashed)."""
    samples = watch.samples
    first = next((s for s in samples if s.elapsed >= warmup), samples[-1])
    last = samples[-1]
    lines, worst, whose, changed = [], 0.0, "", []
    for pid, start in first.resident.items():
        label = f"{watch.labels.get(pid, '?')} {pid}"
        end = last.resident.get(pid)
        if end is None:
            changed.append(f"{label} ended during the run")
            continue
        peak = max(s.resident.get(pid, 0) for s in samples)
        growth = (end - start) / start
        if growth > worst or not whose:
            worst, whose = max(growth, worst), label
        lines.append(f"  {label:<24} {start / 1024:7.1f} MB -> {end / 1024:7.1f} MB ({growth:+.1%}); "
                     f"peak {peak / 1024:.1f} MB; at the start {samples[0].resident.get(pid, 0) / 1024:.1f} MB")
    changed += [f"{watch.labels.get(pid, '?')} {pid} started during the run" for pid in last.resident
                if pid not in first.resident]
    if watch.database_name:
        lines.append(f"  PostgreSQL backends of {watch.database_name}: {first.postgres_backends} -> "
                     f"{last.postgres_backends}, {first.postgres_kb / 1024:.1f} MB -> {last.postgres_kb / 1024:.1f} MB "
                     "in total (for information: shared buffers touched count in their RSS)")
    return lines, worst, whose, changed


def server_faults(log: Path) -> list[str]:
    """The server log's tracebacks and worker timeouts, counted, each kind with its last lines once."""
    lines = log.read_text(errors="replace").splitlines()
    faults: Counter[str] = Counter()
    shown: dict[str, str] = {}
    for n, line in enumerate(lines):
        if line.startswith("Traceback"):
            end = next((m for m in range(n + 1, len(lines)) if not lines[m].startswith((" ", "Traceback"))), n)
            what = lines[end][:200]
            faults[what] += 1
            shown.setdefault(what, " | ".join(part.strip() for part in lines[max(n, end - 4):end]))
        elif "WORKER TIMEOUT" in line or "Worker exiting" in line:
            faults[line.split("] ", 2)[-1][:200]] += 1
    return [f"{count} x {what}" + (f" (at {shown[what][:400]})" if what in shown else "")
            for what, count in faults.most_common()]


def new_manifests(app: Flask, since: datetime) -> int:
    from cms.models import Manifest

    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Manifest).where(Manifest.created_at >= since))
        db.session.remove()
    return count or 0


# -- main ------------------------------------------------------------------------

def dispose(app: Flask) -> None:
    with app.app_context():
        db.engine.dispose()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--boards", type=int, default=1000)
    parser.add_argument("--staff", type=int, default=20)
    parser.add_argument("--database-url", default=os.environ.get("PANOLED_DATABASE__URL") or "postgresql:///panoled",
                        help="a PostgreSQL server (the database name is replaced by a scratch one), or sqlite")
    parser.add_argument("--changes-per-minute", type=float, default=1.0, help="rule changes by an editor (0: none)")
    parser.add_argument("--lanes", type=int, default=100, help="client threads sharing the boards, a connection each")
    parser.add_argument("--workers", type=int, default=None, help="GUNICORN_WORKERS (default: the production file's)")
    parser.add_argument("--threads", type=int, default=None, help="GUNICORN_THREADS (default: the production file's)")
    parser.add_argument("--recycle-workers", action="store_true",
                        help="keep the production max_requests (workers renewed during the run)")
    parser.add_argument("--warmup-seconds", type=float, default=60.0,
                        help="memory growth is measured from here (at most half the run)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database and data folder")
    args = parser.parse_args()
    if args.boards < 6 or args.staff < 0 or args.minutes <= 0 or args.lanes < 1:
        parser.error("at least 6 boards (the demo's), 0 or more staff, a positive duration and lanes")
    return args


def server_env(url: str, data: Path, args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ, PANOLED_DATABASE__URL=url, PANOLED_STORAGE__DATA_DIR=str(data))
    for name in ("GUNICORN_BIND", "GUNICORN_WORKERS", "GUNICORN_THREADS"):
        env.pop(name, None)
    if args.workers:
        env["GUNICORN_WORKERS"] = str(args.workers)
    if args.threads:
        env["GUNICORN_THREADS"] = str(args.threads)
    return env


@dataclass(frozen=True)
class Unit:
    """What a shipped systemd unit sets for its process, which the bench's process gets too."""
    environment: dict[str, str]
    nice: int


def unit(name: str) -> Unit:
    text = (REPO / "deploy" / "systemd" / name).read_text()
    environment = dict(line.split("=", 1) for line in re.findall(r"^Environment=(\S+=\S*)$", text, re.MULTILINE))
    nice = re.search(r"^Nice=(-?\d+)$", text, re.MULTILINE)
    return Unit(environment, int(nice.group(1)) if nice else 0)


def main() -> None:
    args = parse_args()
    server = None if args.database_url == "sqlite" else args.database_url
    if server is not None and not server.startswith("postgresql"):
        raise SystemExit("--database-url is a PostgreSQL server (postgresql:///panoled) or sqlite")
    load = Load(args.boards, args.staff, args.minutes, min(args.lanes, args.boards), args.changes_per_minute)
    warmup = min(args.warmup_seconds, args.minutes * 30)
    failed: list[str] = []
    with ExitStack() as stack:
        url = stack.enter_context(database(server, SCRATCH, keep=args.keep))
        data = Path(tempfile.mkdtemp(prefix="panoled-soak-"))
        if not args.keep:
            stack.callback(shutil.rmtree, data, ignore_errors=True)
        env = server_env(url, data, args)
        panoled = str(Path(sys.executable).with_name("panoled"))
        subprocess.run([panoled, "init"], env=env, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
        app = create_app(load_config(environ=env))  # writes the secret key the servers then read
        stack.callback(dispose, app)
        began = time.perf_counter()
        fleet = seed(app, args.boards, args.staff, datetime.now(app.config["PANOLED"].tz).date())
        kind = "SQLite" if server is None else f"PostgreSQL database {make_url(url).database}"
        print(f"{kind}: demo plan, {len(fleet.boards):,} boards with secrets, {len(fleet.staff)} staff accounts "
              f"in {time.perf_counter() - began:.1f} s; {build_manifests(app)}")

        logs = stack.enter_context(open(data / "servers.log", "ab"))
        web_unit, scheduler_unit = unit("panoled-web.service"), unit("panoled-scheduler@.service")
        scheduler = subprocess.Popen([panoled, "scheduler", "run", "--name", "soak"], env=env | scheduler_unit.environment,
                                     cwd=REPO, stdout=logs, stderr=subprocess.STDOUT,
                                     preexec_fn=lambda: os.nice(scheduler_unit.nice))
        stack.callback(stop_process, scheduler)
        options = ["-c", str(REPO / "deploy" / "gunicorn.conf.py")] + ([] if args.recycle_workers else
                                                                      ["--max-requests", "0"])
        base, master = stack.enter_context(gunicorn(env | web_unit.environment, options, output=logs))
        workers = worker_pids(master)
        print(f"gunicorn {base} with deploy/gunicorn.conf.py: {len(workers)} workers"
              f"{'' if args.recycle_workers else ', not renewed during the run'}; `panoled scheduler run` beside it "
              f"(nice {scheduler_unit.nice}); both with their systemd unit's environment "
              f"{web_unit.environment | scheduler_unit.environment}; "
              f"logs in {data / 'servers.log'}")
        print(f"load: {len(fleet.boards):,} boards polling every {POLL_SECONDS:.0f} s with If-None-Match over "
              f"{load.lanes} connections, {len(fleet.staff)} staff browsing ({THINK_SECONDS[0]:.0f}-"
              f"{THINK_SECONDS[1]:.0f} s between pages), {load.changes_per_minute:g} rule change(s) a minute; "
              f"{load.minutes:g} min; cores {os.cpu_count()}, load average before {os.getloadavg()[0]:.1f}")

        began = time.perf_counter()
        first = boards_online(base, fleet, load.lanes)
        fetched = first.latencies.get(BOARD_200, [])
        print(f"boards online before the run: {len(fetched):,} first manifests over {load.lanes} connections in "
              f"{time.perf_counter() - began:.1f} s (p50 {milliseconds(percentile(fetched, 0.5))}, p95 "
              f"{milliseconds(percentile(fetched, 0.95))}, max {milliseconds(max(fetched, default=0.0))}; "
              f"{sum(first.errors.values())} errors; not counted below)")
        if first.errors:
            raise SystemExit(f"boards could not come online: {dict(first.errors)} (first: {first.first_error})")
        record = Recorder()
        database_name = None if server is None else make_url(url).database

        def servers() -> dict[str, list[int]]:
            return {"gunicorn": [master, *worker_pids(master)], "scheduler": [scheduler.pid],
                    "PostgreSQL": postgres_pids(database_name) if database_name else []}

        cpu_before = {name: cpu_by_process(pids) for name, pids in servers().items()}
        client_before = time.process_time()
        load_began = datetime.now(UTC)
        started = time.monotonic()

        def progress(elapsed: float) -> None:
            with record.lock:
                board = record.latencies.get(BOARD_304, []) + record.latencies.get(BOARD_200, [])
                staff = list(record.latencies.get(STAFF_PAGE, []))
                errors = sum(record.errors.values())
            print(f"  {elapsed / 60:4.1f} min: {record.count():,} requests, boards p95 "
                  f"{milliseconds(percentile(board, 0.95))}, staff p95 {milliseconds(percentile(staff, 0.95))}, "
                  f"{errors} errors, load average {os.getloadavg()[0]:.1f}", flush=True)

        with MemoryWatch(master, scheduler.pid, database_name, started) as watch:
            changes = run_load(base, fleet, load, started, record, progress)
        seconds = time.monotonic() - started
        client_cpu = time.process_time() - client_before
        cpu_after = {name: cpu_by_process(pids) for name, pids in servers().items()}
        load_after = os.getloadavg()
        if scheduler.poll() is not None:
            record.error("scheduler ended during the run", f"exit status {scheduler.returncode}")
        if resident_kb(master) is None:
            record.error("gunicorn ended during the run", f"master {master}")

        total = record.count()
        print(f"{total:,} requests in {seconds:.1f} s: {total / seconds:.1f} requests/s; "
              f"{new_manifests(app, load_began):,} new manifests made during the run; editor: "
              f"{', '.join(changes) or 'no changes'}")
        print("\n".join(latency_table(record)))
        late = record.lateness
        print(f"  board polls sent late by the client: p99 {milliseconds(percentile(late, 0.99))}, "
              f"max {milliseconds(max(late, default=0.0))}")
        faults = server_faults(data / "servers.log")
        print("server log: " + ("no tracebacks or worker timeouts" if not faults else f"{len(faults)} kinds of fault"))
        for line in faults:
            print(f"  {line}")
        if record.resent:
            print(f"staff requests sent again after the server closed an idle kept-alive connection: {record.resent}")
        if record.errors:
            print("errors:")
            for kind, count in record.errors.most_common():
                print(f"  {kind}: {count:,} (first: {record.first_error[kind]})")
        else:
            print("errors: none")
        lines, worst, whose, changed = memory_lines(watch, warmup)
        print(f"memory (VmRSS) from the end of the {warmup:.0f} s warm-up to the end, sampled every "
              f"{SAMPLE_SECONDS:.0f} s ({len(watch.samples)} samples):")
        print("\n".join(lines))
        for line in changed:
            print(f"  {line}")
        used = {name: sum(after - cpu_before[name].get(pid, 0.0) for pid, after in cpu_after[name].items())
                for name in cpu_after}
        print(f"CPU during the load: client {client_cpu:.1f} s ({client_cpu / seconds:.0%} of a core), "
              + ", ".join(f"{name} {spent:.1f} s ({spent / seconds:.0%})" for name, spent in used.items() if
                          spent or name != "PostgreSQL")
              + f"; load average at the end {load_after[0]:.1f} (5 min {load_after[1]:.1f}, "
              f"15 min {load_after[2]:.1f}) on {os.cpu_count()} cores")
        print(f"  gunicorn CPU per request {used['gunicorn'] / max(1, total) * 1000:.1f} ms on average over every kind "
              "(wall-clock latency on a shared machine also waits for other people's processes)")

        for kind in TARGETED:
            values = record.latencies.get(kind, [])
            p95 = percentile(values, 0.95)
            met = bool(values) and p95 <= TARGET_P95
            failed += [] if met else [kind]
            print(f"{'PASS' if met else 'FAIL'} p95 <= {TARGET_P95 * 1000:.0f} ms, {kind}: {milliseconds(p95)} "
                  f"({len(values):,} requests)")
        reports = record.latencies.get(REPORT, [])
        if reports:
            slowest = max(reports)
            failed += [] if slowest <= TARGET_REPORT else [REPORT]
            print(f"{'PASS' if slowest <= TARGET_REPORT else 'FAIL'} each report <= {TARGET_REPORT:.0f} s (the acceptance "
                  f"report's own target): slowest {milliseconds(slowest)} of {len(reports)}")
        errors = sum(record.errors.values())
        failed += ["errors"] if errors else []
        print(f"{'FAIL' if errors else 'PASS'} no errors: {errors:,} of {total:,} requests")
        crashed = [line for line in changed if line.startswith("gunicorn worker") and line.endswith("ended during the run")]
        grew = worst >= TARGET_GROWTH or bool(crashed and not args.recycle_workers)
        failed += ["memory"] if grew else []
        print(f"{'FAIL' if grew else 'PASS'} each process's memory growth < {TARGET_GROWTH:.0%}: largest "
              f"{worst:+.1%} ({whose}){'; ' + ', '.join(crashed) if crashed else ''}")
        if args.keep:
            print(f"kept: {url} and {data}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
