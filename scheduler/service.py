"""The scheduler process: elected leader, reconciles, pushes.

APScheduler only triggers work; what is due lives in the database (manifests,
board sync state), so every job is declared here and the in-memory job store
is rebuilt at each start, never pickled. Jobs:

- `reconcile` every `reconcile_seconds` (the safety interval) and once at
  start: new manifest versions where the inputs changed;
- `boundary`, a one-off at the next instant any board moves from one rule or
  playlist to another, or the manifest window steps on, moved after every
  reconcile; it and `reconcile` share a lock, so two never run at once;
- `dispatch` every second: hands due pushes to a bounded pool; each push has a
  timeout, and a board that fails is retried with exponential backoff and
  jitter while the others go on. A push that overruns its timeout (a driver
  stuck somewhere its own timeout does not reach) is recorded as timed out and
  its worker no longer counts, so stuck drivers cannot starve the others;
- `status` every `boards.status_poll_seconds` and once at start: boards of kinds
  that cannot call in (VNNOX) are asked whether they are online, in a bounded
  pool of their own with a timeout each, so one dead board holds up no other,
  and at most STATUS_CALLS_PER_SECOND calls started a second;
  an answer that a board is online is its heartbeat (cms.services.board_health);
- `leadership` every few seconds: a leader that lost its lock stops at once
  and goes back to stand-by. A reconcile commits only after asking the lock
  again, and a push is recorded only while this process still leads.

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
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from display_adapters.base import BoardStatus
from scheduler.leader import Leadership, leadership_for

if TYPE_CHECKING:
    from cms.services.manifests import PushJob, PushOutcome
    from display_adapters.base import BoardRef

log = logging.getLogger("panoled.scheduler")
DISPATCH_SECONDS = 1.0
LEADERSHIP_CHECK_SECONDS = 5.0
OVERRUN_GRACE_SECONDS = 5.0  # past the push timeout before a push is given up as stuck
MAX_QUEUED = 100_000
RECONCILE_WAIT_SECONDS = 120.0  # how long a term that ends waits for its last reconcile
PUBLISH_SECONDS = 10
PORTAL_SECONDS = 30
STATUS_CALLS_PER_SECOND = 10  # status calls start no faster: VNNOX refuses over 15 a second from one address
VERIFY_ROUND_SECONDS = 3600  # how often the leader looks for chains not verified whole lately
WHOLE_CHECK_HOURS = 24  # ... and verifies those not found intact for this long


def utc_now() -> datetime:
    return datetime.now(UTC)


class SchedulerService:
    def __init__(self, app: Flask, name: str | None = None, clock: Callable[[], datetime] = utc_now,
                 leadership: Leadership | None = None) -> None:
        config = app.config["PANOLED"]
        self.app, self.config, self.settings, self.clock = app, config, config.scheduler, clock
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.leadership = leadership or leadership_for(config.database_url, config.data_dir, self.name)
        self.stopping = threading.Event()
        self.leading = threading.Event()
        self.terms = 0  # how many times this process has become the leader
        self._lost = threading.Event()
        self._reconciling = threading.Lock()
        self._busy: dict[int, tuple[object, int, float]] = {}  # board id -> (push token, version, monotonic deadline)
        self._busy_lock = threading.Lock()
        self._idle = threading.Condition(self._busy_lock)  # notified whenever a push ends
        self._queue: deque[PushJob] = deque()
        self._queued: set[int] = set()
        self._boundaries: dict[int, list[int]] = {}
        self._jobs: BackgroundScheduler | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._status_pool: ThreadPoolExecutor | None = None
        self._asking: set[int] = set()  # boards whose status call is under way
        self._unseen: set[int] = set()  # boards the last status call did not see (said once in the log)
        self._asking_lock = threading.Lock()
        self._next_call_at = 0.0  # monotonic time before which no status call starts

    # -- life cycle ---------------------------------------------------------

    def run(self) -> None:
        """Wait as stand-by until elected, lead until stopped or the lock is lost, repeat."""
        while not self.stopping.is_set():
            log.info("scheduler %s: stand-by, waiting to lead", self.name)
            seen = ""
            while not self.stopping.is_set() and not self.leadership.try_acquire():
                if (holder := self.leadership.holder()) and holder != seen:
                    log.info("scheduler %s: the leader is %s", self.name, holder)
                    seen = holder
                self.stopping.wait(self.settings.standby_poll_seconds)
            if self.stopping.is_set():
                break
            self._lead()
            self._lost.clear()
        self.leadership.release()

    def stop(self) -> None:
        self.stopping.set()

    def _start_term(self) -> None:
        self.terms += 1
        with self._busy_lock:
            self._busy.clear()
            self._queue.clear()
            self._queued.clear()
        self._boundaries = {}
        with self._asking_lock:
            self._asking.clear()
            self._unseen.clear()
        # Room for pushes stuck past their deadline, which no longer count against push_workers.
        self._pool = ThreadPoolExecutor(self.settings.push_workers * 2, thread_name_prefix="push")
        # Status calls apart, so that boards being asked never keep a push waiting, nor the reverse.
        self._status_pool = ThreadPoolExecutor(self.settings.push_workers, thread_name_prefix="status")
        self.leading.set()

    def _close_pools(self) -> None:
        """Calls under way finish on their own (and are not recorded); queued ones never start."""
        for pool in (self._pool, self._status_pool):
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._status_pool = None

    def _lead(self) -> None:
        log.info("scheduler %s: leading", self.name)
        self._start_term()
        self._jobs = BackgroundScheduler(timezone=UTC)
        period = self.settings.reconcile_seconds
        # APScheduler runs on the wall clock; `self.clock` is the schedule's notion of now.
        self._jobs.add_job(self.reconcile, "interval", seconds=period, id="reconcile", next_run_time=datetime.now(UTC),
                           coalesce=True, max_instances=1, misfire_grace_time=period)
        self._jobs.add_job(self.dispatch, "interval", seconds=DISPATCH_SECONDS, id="dispatch",
                           coalesce=True, max_instances=1, misfire_grace_time=1)
        self._jobs.add_job(self.check_leadership, "interval", seconds=LEADERSHIP_CHECK_SECONDS, id="leadership",
                           coalesce=True, max_instances=1, misfire_grace_time=int(LEADERSHIP_CHECK_SECONDS))
        # Every chain verified whole once a day, so reports (which re-check only what came
        # since) stand on a full check at most a day old; a round may take minutes.
        self._jobs.add_job(self.verify_chains, "interval", seconds=VERIFY_ROUND_SECONDS, id="verify",
                           next_run_time=datetime.now(UTC) + timedelta(seconds=60), coalesce=True, max_instances=1,
                           misfire_grace_time=VERIFY_ROUND_SECONDS)
        # Scheduled website posts go public on the first round at or after their time, never before.
        self._jobs.add_job(self.publish_posts, "interval", seconds=PUBLISH_SECONDS, id="publish",
                           next_run_time=datetime.now(UTC), coalesce=True, max_instances=1,
                           misfire_grace_time=PUBLISH_SECONDS)
        # Posts pushed to the department's portal, if one is configured; on its own job, so a
        # slow portal delays neither publishing here nor the boards.
        self._jobs.add_job(self.push_to_portal, "interval", seconds=PORTAL_SECONDS, id="portal",
                           next_run_time=datetime.now(UTC) + timedelta(seconds=5), coalesce=True, max_instances=1,
                           misfire_grace_time=PORTAL_SECONDS)
        # Boards that cannot call in are asked at once, so they show online soon after a start.
        poll = self.config.boards.status_poll_seconds
        self._jobs.add_job(self.poll_status, "interval", seconds=poll, id="status", next_run_time=datetime.now(UTC),
                           coalesce=True, max_instances=1, misfire_grace_time=poll)
        self._jobs.start()
        while not self.stopping.is_set() and not self._lost.is_set():
            self.stopping.wait(0.5)
        self.leading.clear()
        # Not shutdown(wait=True): APScheduler 3 holds its job-store lock while it waits for
        # running jobs, and a running reconcile plans the next boundary (add_job) under that
        # same lock, so the two would wait for each other for ever, lock and all.
        self._jobs.shutdown(wait=False)
        if self._lost.is_set():
            log.error("scheduler %s: lost the leader lock; back to stand-by", self.name)
        # Free the lock before waiting for anything, so a stand-by can take over; pushes
        # still running finish on their own and are not recorded by this process.
        self.leadership.release()
        # A reconcile still running sees through its fence that it no longer leads and
        # commits nothing; the next term starts after it.
        if self._reconciling.acquire(timeout=RECONCILE_WAIT_SECONDS):
            self._reconciling.release()
        self._close_pools()
        self._jobs = None

    def run_once(self) -> tuple[int, int]:
        """One reconcile and every push then due, without APScheduler (for operators and
        tests); returns (new manifests, pushes). Refuses while another scheduler leads."""
        if not self.leadership.try_acquire():
            raise RuntimeError("another scheduler is leading; `--once` runs only when none is")
        self._start_term()
        assert self._pool is not None
        try:
            from cms.extensions import db
            from cms.services.manifests import due_pushes, reconcile

            with self.app.app_context():
                report = reconcile(self.config, self.clock())
                jobs = due_pushes(self.clock(), set(), MAX_QUEUED)
                db.session.remove()
            with self._busy_lock:
                self._queue.extend(jobs)
                self._queued.update(job.board.board_id for job in jobs)
            self._pump()
            while True:
                with self._busy_lock:
                    if not self._queue and not self._busy:
                        break
                    self._idle.wait(0.5)
                self._give_up_on_overdue()  # a stuck push is recorded as timed out, not waited for
            return len(report.new_versions), len(jobs)
        finally:
            self.leading.clear()
            self._close_pools()
            self.leadership.release()

    def poll_once(self) -> int:
        """One round of status polls without APScheduler (for operators and tests); returns how
        many boards answered online. Refuses while another scheduler leads."""
        if not self.leadership.try_acquire():
            raise RuntimeError("another scheduler is leading; a status round runs only when none is")
        self._start_term()
        try:
            return self.poll_status()
        finally:
            self.leading.clear()
            self._close_pools()
            self.leadership.release()

    # -- jobs ---------------------------------------------------------------

    def verify_chains(self) -> None:
        from cms.extensions import db
        from cms.services.playlog_chain import verify_stale

        if not self.leading.is_set():
            return
        with self.app.app_context():
            try:
                cutoff = datetime.now(UTC) - timedelta(hours=WHOLE_CHECK_HOURS)
                for report in verify_stale(cutoff, self.stopping):
                    if not report.ok:
                        assert report.problem is not None
                        log.error("scheduler %s: the play-log chain of %s fails its check: %s at entry %s (%s)",
                                  self.name, report.screen_code, report.problem.kind, report.problem.seq,
                                  report.problem.detail)
            except Exception:
                db.session.rollback()
                log.exception("scheduler %s: verifying the play-log chains failed; the next round tries again", self.name)
            finally:
                db.session.remove()

    def publish_posts(self) -> list[int]:
        """Publish the website posts scheduled for now or earlier (by the schedule's clock)."""
        from cms.extensions import db
        from cms.services.website import publish_due

        if not self.leading.is_set():
            return []
        with self.app.app_context():
            try:
                published = publish_due(self.clock())
                if published:
                    log.info("scheduler %s: published website posts %s", self.name, published)
                return published
            except Exception:
                db.session.rollback()
                log.exception("scheduler %s: publishing website posts failed; the next round tries again", self.name)
                return []
            finally:
                db.session.remove()

    def push_to_portal(self) -> None:
        """A round of cms.services.portal: the portal shows the published posts and nothing else."""
        from cms.extensions import db
        from cms.services import portal

        if not self.leading.is_set() or not self.app.config["PANOLED"].publishing.kind:
            return
        with self.app.app_context():
            try:
                done = portal.sync(self.app.config["PANOLED"], self.clock())
                if done.published or done.withdrawn:
                    log.info("scheduler %s: portal: published %s, taken down %s", self.name, done.published,
                             done.withdrawn)
            except Exception:
                db.session.rollback()
                log.exception("scheduler %s: pushing posts to the portal failed; the next round tries again", self.name)
            finally:
                db.session.remove()

    def poll_status(self) -> int:
        """Ask every board that cannot call in whether it is online; returns how many said so.
        Calls start at most STATUS_CALLS_PER_SECOND; the round then waits for its answers at
        most one poll period, and a board whose call from an earlier round is still under way
        is not asked again meanwhile."""
        from cms.extensions import db
        from cms.services.board_health import polled_boards

        pool = self._status_pool
        if not self.leading.is_set() or pool is None:
            return 0
        with self.app.app_context():
            try:
                boards = polled_boards()
            except Exception:
                db.session.rollback()
                log.exception("scheduler %s: could not list the boards to poll; the next round tries again", self.name)
                return 0
            finally:
                db.session.remove()
        with self._asking_lock:
            boards = [board for board in boards if board.board_id not in self._asking]
            self._asking.update(board.board_id for board in boards)
        calls: list[Future[bool]] = []
        for board in boards:
            try:
                calls.append(pool.submit(self._ask, board))
            except RuntimeError:  # the term ended meanwhile and its pool with it
                break
        done, _waiting = wait(calls, timeout=self.config.boards.status_poll_seconds)
        return sum(1 for call in done if not call.cancelled() and call.result())

    def _ask(self, board: BoardRef) -> bool:
        """One board's status call; a sighting is recorded when it answered online in time."""
        from cms.services.board_health import ask_status

        try:
            self._wait_turn()
            if not self.leading.is_set():
                return False
            timeout = self.settings.push_timeout_seconds
            started = time.monotonic()
            status = ask_status(board, timeout)
            if time.monotonic() - started > timeout + OVERRUN_GRACE_SECONDS:
                status = BoardStatus(False, detail=f"the status call took over {timeout + OVERRUN_GRACE_SECONDS:g} s")
            self._note(board, status)
            return status.online and self._record_seen(board, status)
        finally:
            with self._asking_lock:
                self._asking.discard(board.board_id)

    def _wait_turn(self) -> None:
        """Status calls start at most STATUS_CALLS_PER_SECOND, however many workers are free
        (a slow cloud frees them all at once, and a burst is what it refuses)."""
        with self._asking_lock:
            start = max(time.monotonic(), self._next_call_at)
            self._next_call_at = start + 1 / STATUS_CALLS_PER_SECOND
        self.stopping.wait(max(0.0, start - time.monotonic()))

    def _note(self, board: BoardRef, status: BoardStatus) -> None:
        """Logs when a polled board stops being seen, and when it is seen again; not every round."""
        with self._asking_lock:
            changed = (board.board_id in self._unseen) == status.online
            if status.online:
                self._unseen.discard(board.board_id)
            else:
                self._unseen.add(board.board_id)
        if changed and status.online:
            log.info("scheduler %s: board %s answers its status poll again", self.name, board.code)
        elif changed:
            log.warning("scheduler %s: board %s not seen by its status poll: %s", self.name, board.code, status.detail)

    def _record_seen(self, board: BoardRef, status: BoardStatus) -> bool:
        from cms.extensions import db
        from cms.services.board_health import record_seen

        if not self.leading.is_set():
            return False
        with self.app.app_context():
            try:
                record_seen(board.board_id, status, self.clock())
                return True
            except Exception:
                db.session.rollback()
                log.exception("scheduler %s: could not record that board %s was seen", self.name, board.code)
                return False
            finally:
                db.session.remove()

    def check_leadership(self) -> None:
        if not self.leadership.still_held():
            self.leading.clear()
            self._lost.set()

    def reconcile(self) -> None:
        from cms.extensions import db
        from cms.services.manifests import latest_boundaries, reconcile

        if not self.leading.is_set() or not self._reconciling.acquire(blocking=False):
            return  # not leading, or the other trigger's reconcile is running and does the same work
        try:
            with self.app.app_context():
                try:
                    report = reconcile(self.config, self.clock(), fence=self.leadership.still_held)
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
        finally:
            self._reconciling.release()

    def _plan_boundary(self) -> None:
        """The next reconcile at the next schedule boundary, or when the manifest window steps on."""
        from cms.services.manifests import window_for

        now = self.clock()
        stamp = now.timestamp()
        upcoming = [int(window_for(now, self.settings)[0].timestamp()) + self.settings.refresh_hours * 3600]
        for marks in self._boundaries.values():
            index = bisect.bisect_right(marks, stamp)
            if index < len(marks):
                upcoming.append(marks[index])
        jobs = self._jobs
        if jobs is None:
            return
        wait = max(min(upcoming) - stamp, self.settings.boundary_min_seconds)
        jobs.add_job(self.reconcile, "date", run_date=datetime.now(UTC) + timedelta(seconds=wait), id="boundary",
                     replace_existing=True, misfire_grace_time=None)

    def dispatch(self) -> None:
        """Queue every push that is due, then start as many as there are free workers.
        Each push that ends starts the next queued one at once, without waiting for
        the next tick."""
        from cms.extensions import db
        from cms.services.manifests import due_pushes

        if not self.leading.is_set() or self._pool is None:
            return
        self._give_up_on_overdue()
        with self._busy_lock:
            skip = set(self._busy) | self._queued
        with self.app.app_context():
            try:
                jobs = due_pushes(self.clock(), skip, MAX_QUEUED)
            finally:
                db.session.remove()
        with self._busy_lock:
            for job in jobs:
                if job.board.board_id not in self._queued and job.board.board_id not in self._busy:
                    self._queue.append(job)
                    self._queued.add(job.board.board_id)
        self._pump()

    def _pump(self) -> None:
        with self._busy_lock:
            while self._queue and len(self._busy) < self.settings.push_workers and self.leading.is_set():
                job = self._queue.popleft()
                self._queued.discard(job.board.board_id)
                self._submit(job)

    def _submit(self, job: PushJob) -> Future[None]:
        """Starts a push; the caller holds `_busy_lock`."""
        assert self._pool is not None
        token = object()
        deadline = time.monotonic() + self.settings.push_timeout_seconds + OVERRUN_GRACE_SECONDS
        self._busy[job.board.board_id] = (token, job.version, deadline)
        return self._pool.submit(self._push, job, token)

    def _give_up_on_overdue(self) -> None:
        """Pushes past their deadline are recorded as timed out and stop counting as busy."""
        from cms.services.manifests import PushOutcome

        now = time.monotonic()
        with self._busy_lock:
            overdue = [(board_id, version) for board_id, (_token, version, deadline) in self._busy.items() if now > deadline]
            for board_id, _version in overdue:
                del self._busy[board_id]
        if overdue:
            self._pump()
        for board_id, version in overdue:
            log.warning("scheduler %s: a push to board %s is stuck past its timeout; given up", self.name, board_id)
            self._record(board_id, version, PushOutcome(
                "timeout", (self.settings.push_timeout_seconds + OVERRUN_GRACE_SECONDS) * 1000,
                "the push did not end within its timeout; given up"))

    def _push(self, job: PushJob, token: object) -> None:
        from cms.services.manifests import push

        try:
            if not self.leading.is_set():
                return
            outcome = push(job, self.settings.push_timeout_seconds)
            with self._busy_lock:
                mine = self._busy.get(job.board.board_id, (None,))[0] is token
            if not mine:
                return  # given up on already (recorded as timed out), or a new term began
            self._record(job.board.board_id, job.version, outcome)
            if outcome.result != "ok":
                log.warning("scheduler %s: board %s version %d: %s %s", self.name, job.board.code, job.version,
                            outcome.result, outcome.error)
        finally:
            with self._busy_lock:
                if self._busy.get(job.board.board_id, (None,))[0] is token:
                    del self._busy[job.board.board_id]
                self._idle.notify_all()
            self._pump()

    def _record(self, board_id: int, version: int, outcome: PushOutcome) -> None:
        from cms.extensions import db
        from cms.services.manifests import record_push

        if not self.leading.is_set():
            return  # the new leader, if any, pushes again
        with self.app.app_context():
            try:
                record_push(board_id, version, outcome, self.clock(), self.settings, self.name)
            except Exception:
                db.session.rollback()
                log.exception("scheduler %s: could not record a push to board %s", self.name, board_id)
            finally:
                db.session.remove()
