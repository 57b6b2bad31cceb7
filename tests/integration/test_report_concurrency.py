"""Two people opening the acceptance report at the same moment both get it: each report
moves the check marks of its boards' play-log chains, and a board checked for the first
time by both at once must not make either fail."""
from __future__ import annotations

import threading
import time

from flask import Flask
from sqlalchemy import select

from cms.extensions import db
from cms.models import PlaylogCheck, Screen
from cms.services import playlog_chain
from cms.services.audit import Actor
from cms.services.screens import ScreenInput, create_screen


def test_two_checks_of_a_board_never_checked_before_both_succeed(app: Flask) -> None:
    with app.app_context():
        screen, _secret = create_screen(ScreenInput(name="Bảng LED chợ Bà Rịa", width=768, height=384,
                                                    adapter_kind="webplayer"), Actor.command_line())
        db.session.commit()
        screen_id = screen.id
    first_written, second_started = threading.Event(), threading.Event()
    failures: list[BaseException] = []
    reports: list[playlog_chain.ChainReport] = []

    def check(first: bool) -> None:
        if not first:
            first_written.wait(10)
            second_started.set()
        with app.app_context():
            try:
                reports.append(playlog_chain.verify(db.session.get(Screen, screen_id), since_last_check=True))
                if first:
                    db.session.flush()  # its mark written, not committed yet
                    first_written.set()
                    second_started.wait(10)
                    time.sleep(0.5)  # the other check reaches the same mark meanwhile
                db.session.commit()
            except BaseException as failure:  # noqa: BLE001 - reported by the test below
                failures.append(failure)
                db.session.rollback()
            finally:
                first_written.set()
                db.session.remove()

    threads = [threading.Thread(target=check, args=(first,)) for first in (True, False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert [report.problem for report in reports] == [None, None]
    with app.app_context():
        marks = db.session.scalars(select(PlaylogCheck).where(PlaylogCheck.screen_id == screen_id)).all()
        assert [(mark.seq, mark.whole_checked_at is not None) for mark in marks] == [(0, True)]
