"""The scheduler process: elected leader, reconciles, pushes.

APScheduler only triggers work; what is due lives in the database (manifests,
board sync state), so every job is declared here and the in-memory job store
is rebuilt at each start, never pickled. Jobs:

- `reconcile` every `reconcile_seconds` (the safety interval) and once at
  start: new manifest versions where the inputs changed;
- `boundary`, a one-off at the next instant any board moves from one rule or
  playlist to another, moved after every reconcile;
- `dispatch` every second: hands due pushes to a bounded pool; each push has a
  timeout, and a board that fails is retried with exponential backoff and
  jitter while the others go on;
- `leadership` every few seconds: a leader that lost its lock stops at once
  and goes back to stand-by.

Misfires: the interval jobs coalesce and a run missed by more than its own
period is skipped (the next one does the same work); the boundary job always
runs, however late, because it is the only trigger for that instant.
"""
from __future__ import annotations

import bisect
import logging
import os
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from scheduler.leader import Leadership, leadership_for

log = logging.getLogger("panoled.scheduler")
DISPATCH_SECONDS = 1.0
LEADERSHIP_CHECK_SECONDS = 5.0


def utc_now() -> datetime:
    return datetime.now(UTC)


class SchedulerService:
    def __init__(self, app: Flask, name: str | None = None, clock: Callable[[], datetime] = utc_now,
                 leadership: Leadership | None = None) -> None:
        config = app.config["PANOLED"]
        self.app, self.config, self.settings, self.clock = app, config, config.scheduler, clock
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.leadership = leadership or leadership_for(config.database_url, config.data_dir)
        self.stopping = threading.Event()
        self.leading = threading.Event()
        self._lost = threading.Event()
        self.terms = 0  # how many times this process has become the leader
        self._busy: set[int] = set()
        self._busy_lock = threading.Lock()
        self._boundaries: dict[int, list[int]] = {}
        self._jobs: BackgroundScheduler | None = None
        self._pool: ThreadPoolExecutor | None = None

    # -- life cycle ---------------------------------------------------------

    def run(self) -> None:
        """Wait as stand-by until elected, lead until stopped or the lock is lost, repeat."""
        while not self.stopping.is_set():
            log.info("scheduler %s: stand-by, waiting to lead", self.name)
            while not self.stopping.is_set() and not self.leadership.try_acquire():
                self.stopping.wait(self.settings.standby_poll_seconds)
            if self.stopping.is_set():
                break
            self._lead()
            self._lost.clear()
        self.leadership.release()

    def stop(self) -> None:
        self.stopping.set()

    def _lead(self) -> None:
        log.info("scheduler %s: leading", self.name)
        self.terms += 1
        self.leading.set()
        self._pool = ThreadPoolExecutor(self.settings.push_workers, thread_name_prefix="push")
        self._jobs = BackgroundScheduler(timezone=UTC)
        period = self.settings.reconcile_seconds
        self._jobs.add_job(self.reconcile, "interval", seconds=period, id="reconcile", next_run_time=self.clock(),
                           coalesce=True, max_instances=1, misfire_grace_time=period)
        self._jobs.add_job(self.dispatch, "interval", seconds=DISPATCH_SECONDS, id="dispatch",
                           coalesce=True, max_instances=1, misfire_grace_time=1)
        self._jobs.add_job(self.check_leadership, "interval", seconds=LEADERSHIP_CHECK_SECONDS, id="leadership",
                           coalesce=True, max_instances=1, misfire_grace_time=int(LEADERSHIP_CHECK_SECONDS))
        self._jobs.start()
        while not self.stopping.is_set() and not self._lost.is_set():
            self.stopping.wait(0.5)
        self.leading.clear()
        self._jobs.shutdown(wait=True)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._jobs = self._pool = None
        if self._lost.is_set():
            log.error("scheduler %s: lost the leader lock; back to stand-by", self.name)
            self.leadership.release()

    def run_once(self) -> tuple[int, int]:
        """One reconcile and every push then due, without APScheduler (for operators and
        tests); returns (new manifests, pushes). Refuses while another scheduler leads."""
        if not self.leadership.try_acquire():
            raise RuntimeError("another scheduler is leading; `--once` runs only when none is")
        self.leading.set()
        self._pool = ThreadPoolExecutor(self.settings.push_workers, thread_name_prefix="push")
        try:
            from cms.extensions import db
            from cms.services.manifests import due_pushes, reconcile

            with self.app.app_context():
                report = reconcile(self.config, self.clock())
                jobs = due_pushes(self.clock(), set(), 1_000_000)
                db.session.remove()
            list(self._pool.map(self._push, jobs))
            return len(report.new_versions), len(jobs)
        finally:
            self.leading.clear()
            self._pool.shutdown(wait=True)
            self._pool = None
            self.leadership.release()

    # -- jobs ---------------------------------------------------------------

    def check_leadership(self) -> None:
        if not self.leadership.still_held():
            self.leading.clear()
            self._lost.set()

    def reconcile(self) -> None:
        from cms.extensions import db
        from cms.services.manifests import latest_boundaries, reconcile

        if not self.leading.is_set():
            return
        with self.app.app_context():
            try:
                report = reconcile(self.config, self.clock())
                if not self._boundaries or report.new_versions:
                    self._boundaries.update(latest_boundaries(None if not self._boundaries else report.new_versions))
            except Exception:
                db.session.rollback()
                log.exception("scheduler %s: reconcile failed; the next one tries again", self.name)
                return
            finally:
                db.session.remove()
        if report.new_versions:
            log.info("scheduler %s: %d new manifest(s) for %d board(s) checked in %.3f s", self.name,
                     len(report.new_versions), report.boards, report.seconds)
        self._plan_boundary()

    def _plan_boundary(self) -> None:
        now = self.clock().timestamp()
        upcoming = []
        for marks in self._boundaries.values():
            index = bisect.bisect_right(marks, now)
            if index < len(marks):
                upcoming.append(marks[index])
        jobs = self._jobs
        if not upcoming or jobs is None:
            return
        at = max(min(upcoming), now + self.settings.boundary_min_seconds)
        jobs.add_job(self.reconcile, "date", run_date=datetime.fromtimestamp(at, UTC), id="boundary",
                     replace_existing=True, misfire_grace_time=None)

    def dispatch(self) -> None:
        from cms.extensions import db
        from cms.services.manifests import due_pushes

        pool = self._pool
        if not self.leading.is_set() or pool is None:
            return
        with self._busy_lock:
            free = self.settings.push_workers - len(self._busy)
            busy = set(self._busy)
        if free <= 0:
            return
        with self.app.app_context():
            try:
                jobs = due_pushes(self.clock(), busy, free)
            finally:
                db.session.remove()
        for job in jobs:
            with self._busy_lock:
                self._busy.add(job.board.board_id)
            pool.submit(self._push, job)

    def _push(self, job) -> None:  # type: ignore[no-untyped-def]
        from cms.extensions import db
        from cms.services.manifests import push, record_push

        try:
            if not self.leading.is_set():
                return
            outcome = push(job, self.settings.push_timeout_seconds)
            with self.app.app_context():
                try:
                    record_push(job, outcome, self.clock(), self.settings, self.name)
                except Exception:
                    db.session.rollback()
                    log.exception("scheduler %s: could not record a push to board %s", self.name, job.board.code)
                finally:
                    db.session.remove()
            if outcome.result != "ok":
                log.warning("scheduler %s: board %s version %d: %s %s", self.name, job.board.code, job.version,
                            outcome.result, outcome.error)
        finally:
            with self._busy_lock:
                self._busy.discard(job.board.board_id)
