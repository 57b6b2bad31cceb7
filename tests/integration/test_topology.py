"""The production topology on 127.0.0.1, started and stopped by this test:
PostgreSQL; gunicorn with 4 workers from deploy/gunicorn.conf.py; two
`panoled scheduler run` processes (one leads, the other stands by; both make
renditions); `panoled simulator run` with 50 boards playing 30 times faster than
real time, fetching media and sending plays through gunicorn.

Staff upload, approve and schedule over HTTP. The leading scheduler is SIGKILLed
in the middle of a push; the stand-by must lead within 30 s and every board must
reach every manifest change without ever taking an older one. Then the boards'
panels are switched off, their queues drain, and what the CMS keeps and what the
acceptance report (downloaded as an auditor) counts must equal, board by board and
asset by asset, the plays each board recorded in its own tally: none lost, none
counted twice.

Only the reconcile interval (2 s instead of 60 s) differs from the production
settings, so each change reaches the boards quickly."""
from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from cms.extensions import db
from cms.models import BoardSync, Campaign, Manifest, PlaybackEvent, Screen
from cms.services.report_exports import BOARD_COLUMNS, SECTION_BOARDS, TOTAL_LABEL
from conftest import Accounts
from media_files import png_bytes
from processes import BIN, Processes, answers, sign_in, wait_for
from wordpress_site import free_port

BOARDS = 50
SPEED = 30
TAKE_OVER_SECONDS = 30


class Staff:
    """One person calling the API through gunicorn with their token."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        self.base, self.http = base, requests.Session()
        self.http.headers.update(headers)

    def call(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        answer = self.http.request(method, f"{self.base}{path}", timeout=60, **kwargs)
        assert answer.status_code == expect, (method, path, answer.status_code, answer.text[:500])
        return answer.json()


class Simulator:
    """`panoled simulator run`'s boards, seen through its HTTP interface."""

    def __init__(self, port: int) -> None:
        self.base, self.http = f"http://127.0.0.1:{port}", requests.Session()
        self.codes = [f"SIM-{n:02d}" for n in range(1, BOARDS + 1)]

    def state(self, code: str) -> dict[str, Any]:
        return self.http.get(f"{self.base}/screens/{code}/state", timeout=10).json()

    def states(self) -> dict[str, dict[str, Any]]:
        return {code: self.state(code) for code in self.codes}

    def fault(self, code: str, **faults: Any) -> None:
        assert self.http.post(f"{self.base}/screens/{code}/faults", json=faults, timeout=10).status_code == 200


@pytest.fixture
def topology(settings: Any, tmp_path: Path) -> Iterator[Processes]:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("the production topology runs on PostgreSQL: PANOLED_DATABASE__URL=postgresql:///NAME")
    processes = Processes(settings, tmp_path, PANOLED_SCHEDULER__RECONCILE_SECONDS="2")
    yield processes
    processes.stop_all()


def test_the_production_topology_loses_no_manifest_and_no_play_when_its_leader_is_killed(
        settings: Any, accounts: Accounts, imported_plan: Any, topology: Processes, tmp_path: Path) -> None:
    app = accounts.app
    web_port, simulator_port = free_port(), free_port()
    web = f"http://127.0.0.1:{web_port}"
    editor, approver = Staff(web, accounts.token("editor")), Staff(web, accounts.token("approver"))
    auditor_email = "auditor@example.org"
    accounts.create("auditor", auditor_email)
    with app.app_context():
        campaigns = list(db.session.scalars(select(Campaign.id).order_by(Campaign.id).limit(2)))

    topology.gunicorn("web", web_port, workers=4)
    wait_for("gunicorn answers", lambda: answers(f"{web}/healthz"), 60, topology.logs("web"))
    topology.scheduler("A", media_workers=1)
    wait_for("scheduler A leads", lambda: "leading" in topology.log("A"), 60, topology.logs("A"))
    topology.scheduler("B", media_workers=1)
    wait_for("scheduler B stands by", lambda: "stand-by" in topology.log("B"), 60, topology.logs("B"))
    topology.start("simulator", [str(BIN / "panoled"), "simulator", "run", "--screens", str(BOARDS), "--port",
                                 str(simulator_port), "--speed", str(SPEED), "--cms", web,
                                 "--state", str(tmp_path / "simulator")])
    boards = Simulator(simulator_port)
    wait_for("the simulator's boards answer", lambda: answers(f"{boards.base}/screens/SIM-{BOARDS:02d}/state"), 60,
             topology.logs("simulator"))
    with app.app_context():
        screen_ids = dict(db.session.execute(select(Screen.code, Screen.id).where(Screen.code.in_(boards.codes))).all())
    assert len(screen_ids) == BOARDS

    def published(campaign: int, seed: int) -> tuple[int, int]:
        """A poster uploaded, its renditions made by a scheduler, approved, in a published playlist."""
        asset = editor.call("POST", f"/api/v1/media?campaign_id={campaign}&filename=poster-{seed}.png", 201,
                            data=png_bytes(colour=(30 + seed * 40, 90, 160 - seed * 20)),
                            headers={"Content-Type": "application/octet-stream"})["id"]
        wait_for(f"poster {seed}'s renditions", lambda: all(
            d["state"] == "done" for d in editor.call("GET", f"/api/v1/media/{asset}")["derivatives"]), 120,
            topology.logs("A", "B"))
        editor.call("POST", f"/api/v1/media/{asset}/transitions", json={"to": "pending"})
        approver.call("POST", f"/api/v1/media/{asset}/transitions", json={"to": "approved"})
        playlist = editor.call("POST", "/api/v1/playlists", 201, json={"campaign_id": campaign, "name": f"P{seed}"})["id"]
        editor.call("POST", f"/api/v1/playlists/{playlist}/items", 201, json={"asset_id": asset, "duration": 15})
        editor.call("POST", f"/api/v1/playlists/{playlist}/publish")
        return playlist, asset

    playlists = [published(campaigns[n % 2], n) for n in range(4)]
    campaign_of = {asset: campaigns[n % 2] for n, (_, asset) in enumerate(playlists)}
    today = datetime.now(settings.tz).date()
    priority = iter(range(1, 100))

    def schedule(playlist: int) -> None:
        """A new rule above the others on the simulator's group: every board's manifest changes."""
        editor.call("POST", "/api/v1/rules", 201, json={
            "playlist_id": playlist, "groups": ["Simulator"], "priority": next(priority),
            "date_from": (today - timedelta(days=1)).isoformat(), "date_to": (today + timedelta(days=2)).isoformat()})

    def latest() -> dict[str, int]:
        with app.app_context():
            rows = dict(db.session.execute(select(BoardSync.screen_id, BoardSync.latest_version)).all())
            db.session.remove()
        return {code: rows.get(ident, 0) for code, ident in screen_ids.items()}

    def all_current(wanted: dict[str, int]) -> bool:
        return all(boards.state(code)["current_version"] >= version for code, version in wanted.items())

    def change(playlist: int) -> dict[str, int]:
        """Schedules `playlist` and waits for the leader to make every board's next version."""
        before = latest()
        schedule(playlist)
        wait_for("a new version for every board", lambda: all(v > before[c] for c, v in latest().items()), 60,
                 topology.logs("A", "B"))
        return latest()

    wanted = change(playlists[0][0])
    wait_for("every board takes its first manifest", lambda: all_current(wanted), 60, topology.logs("A", "simulator"))
    wait_for("every board plays", lambda: all(s["playing_version"] for s in boards.states().values()), 120,
             topology.logs("simulator"))
    wanted = change(playlists[1][0])
    wait_for("the leader pushes the second change", lambda: all_current(wanted), 60, topology.logs("A"))
    assert "leading" not in topology.log("B")

    # Pushes now take 0.2 to 7.4 s, all at once: the leader dies with some boards updated and others not.
    slow = {code: 0.2 + (n % 10) * 0.8 for n, code in enumerate(boards.codes)}
    for code, seconds in slow.items():
        boards.fault(code, slow_seconds=seconds)
    quick, slowest = boards.codes[0], boards.codes[9]
    wanted = change(playlists[2][0])
    wait_for("the leader has pushed to the quickest board", lambda: all_current({quick: wanted[quick]}), 30,
             topology.logs("A"))
    assert not all_current({slowest: wanted[slowest]}), "the slowest board is still being pushed to"
    topology.kill("A")
    took = wait_for("the stand-by leads", lambda: "leading" in topology.log("B"), TAKE_OVER_SECONDS, topology.logs("B"))
    wait_for("every board gets the change the leader was pushing", lambda: all_current(latest()), 60, topology.logs("B"))
    for code in boards.codes:
        boards.fault(code, slow_seconds=0)
    wanted = change(playlists[3][0])
    wait_for("the new leader pushes the next change", lambda: all_current(wanted), 60, topology.logs("B"))

    with app.app_context():
        newest = dict(db.session.execute(select(Manifest.screen_id, func.max(Manifest.version))
                                         .group_by(Manifest.screen_id)).all())
        db.session.remove()
    states = boards.states()
    for code, state in states.items():
        assert state["refused"] == [], f"{code} was offered an older version"
        assert state["accepted"] == sorted(set(state["accepted"])), f"{code} took versions out of order"
        assert state["current_version"] == newest[screen_ids[code]], f"{code} missed a change"
        assert len(state["accepted"]) >= 4, f"{code} missed a change"

    # Plays go on for a while, then the panels go dark and the queues drain.
    wait_for("every board has played the last change", lambda: all(
        sum(s["recorded"].values()) >= 40 for s in boards.states().values()), 120, topology.logs("simulator"))
    for code in boards.codes:
        boards.fault(code, screen_off=True)
    wait_for("every board has sent every play", lambda: all(
        s["queue_length"] == 0 and s["unwritten_plays"] == 0 and s["now_playing"] is None
        for s in boards.states().values()), 120, topology.logs("simulator", "web"))
    recorded = {code: {int(asset): n for asset, n in s["recorded"].items()} for code, s in boards.states().items()}

    with app.app_context():
        kept = Counter({(code, asset): n for code, asset, n in db.session.execute(
            select(Screen.code, PlaybackEvent.asset_id, func.count()).join(Screen, Screen.id == PlaybackEvent.screen_id)
            .group_by(Screen.code, PlaybackEvent.asset_id)).all()})
        db.session.remove()
    played = Counter({(code, asset): n for code, tally in recorded.items() for asset, n in tally.items()})
    assert sum(played.values()) >= BOARDS * 40
    assert kept == played, "the CMS lost or doubled plays"

    report = Auditor(web, auditor_email)
    for campaign in campaigns:
        rows = report.boards(campaign, today - timedelta(days=1), today + timedelta(days=2))
        expected: Counter[str] = Counter()
        for (code, asset), n in played.items():
            expected[code] += n if campaign_of[asset] == campaign else 0
        assert rows.pop(TOTAL_LABEL) == sum(expected.values()) > 0
        assert Counter(rows) == expected
    assert took <= TAKE_OVER_SECONDS
    for name in ("web", "B", "simulator"):
        assert topology.processes[name].poll() is None, f"{name} died:\n{topology.log(name)[-3000:]}"
    assert "Traceback" not in topology.log("web"), topology.log("web")[-5000:]


class Auditor:
    """An auditor signed in through the login form, downloading acceptance reports."""

    def __init__(self, base: str, email: str) -> None:
        self.base, self.http = base, sign_in(base, email)

    def boards(self, campaign: int, first: Any, last: Any) -> dict[str, int]:
        """Plays delivered per board code (and the total row) in the campaign's report as CSV."""
        answer = self.http.get(f"{self.base}/reports/acceptance/download", timeout=120, params={
            "scope": f"campaign:{campaign}", "from": first.isoformat(), "to": last.isoformat(), "format": "csv"})
        assert answer.status_code == 200, answer.text[:500]
        lines = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
        start = lines.index([SECTION_BOARDS]) + 1
        assert tuple(lines[start]) == BOARD_COLUMNS
        delivered = BOARD_COLUMNS.index("Đã phát (lượt)")
        rows = {}
        for line in lines[start + 1:]:
            if not line:
                break
            rows[line[0]] = int(line[delivered])
        return rows
