"""The acceptance report's figures equal a brute-force count over the raw plays and the
planned timelines (hypothesis, on random data); its gaps say why plays are missing;
its chain check finds an edited play."""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from board_calls import make_manifest, new_board
from cms.extensions import db
from cms.models import (BoardHealth, PlanHour, PlannedDaily, PlannedHourly, PlayDaily, PlaybackEvent, PlayHourly,
                        PlaylogChain, PlaylogChainDay, Screen)
from cms.services.acceptance import Scope, build_report
from cms.services.plan_record import record_plan
from cms.services.playback import Play, ingest_plays
from conftest import Accounts
from scheduler.model import Item, Playlist, Segment, Timeline

ZONES = ("Asia/Ho_Chi_Minh", "UTC", "Asia/Kolkata")
CAMPAIGN = 4  # what make_manifest names for its assets 10 and 11; asset 99 has no campaign
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def boards(client, app: Flask, accounts: Accounts) -> list[int]:  # type: ignore[no-untyped-def]
    ids = []
    for n, zone in enumerate(ZONES):
        board, _secret = new_board(client, accounts.token("operator"), f"NT-{n}")
        make_manifest(app, board, 1, (10, 11))
        with app.app_context():
            db.session.execute(update(Screen).where(Screen.id == board).values(timezone=zone, name=f"Bảng LED số {n}"))
            db.session.commit()
        ids.append(board)
    return ids


def scope(first: date, last: date, campaigns: tuple[int, ...] = (CAMPAIGN,)) -> Scope:
    return Scope("81/KH-STNMT", "Kế hoạch", "Tuyên truyền", "Phòng Môi trường", "Năm 2026", first, last,
                 campaigns[0] if len(campaigns) == 1 else None, tuple((c, f"Chiến dịch {c}") for c in campaigns),
                 "Sở Tài nguyên và Môi trường", "Tỉnh Thử nghiệm")


def played_on_19_march(app: Flask, board: int, count: int) -> list[Play]:
    """`count` 30-second plays of campaign 4 from 03:00 UTC on 19 March, stored through ingestion."""
    start = datetime(2026, 3, 19, 3, 0, tzinfo=UTC)
    plays = [Play(str(uuid.uuid4()), 10, 1, start + timedelta(minutes=m), start + timedelta(minutes=m, seconds=30), None)
             for m in range(count)]
    with app.app_context():
        ingest_plays(db.session.get(Screen, board), plays, NOW)
        db.session.commit()
    return plays


def _forget() -> None:
    for model in (PlayHourly, PlayDaily, PlaybackEvent, PlaylogChainDay, PlaylogChain, PlannedHourly, PlannedDaily, PlanHour):
        db.session.execute(delete(model))
    db.session.commit()


def _local_day(moment: datetime, zone: str) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


# (board, asset, start as seconds from NOW, length in ms): up to five weeks back, a day ahead.
a_play = st.tuples(st.integers(0, len(ZONES) - 1), st.sampled_from((10, 11, 99)),
                   st.integers(-35 * 86400, 86400), st.integers(0, 2 * 3600 * 1000))
# A board's plan: (board, start as hours from NOW, length in hours, items (campaign or None, seconds)).
a_plan = st.tuples(st.integers(0, len(ZONES) - 1), st.integers(-30 * 24, 24), st.integers(1, 60),
                   st.lists(st.tuples(st.sampled_from((CAMPAIGN, None, 5)), st.integers(5, 900)), min_size=1, max_size=3))


@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plays=st.lists(a_play, min_size=0, max_size=40), plans=st.lists(a_plan, max_size=3, unique_by=lambda p: p[0]),
       window=st.tuples(st.integers(-36, 1), st.integers(0, 40)))
def test_report_totals_equal_a_brute_force_count(app: Flask, boards: list[int], plays, plans, window) -> None:  # type: ignore[no-untyped-def]
    first = NOW.date() + timedelta(days=window[0])
    last = first + timedelta(days=window[1])
    sent = [(boards[b], Play(str(uuid.UUID(int=n + 1)), asset, 1, NOW + timedelta(seconds=start),
                             NOW + timedelta(seconds=start, milliseconds=length), None))
            for n, (b, asset, start, length) in enumerate(plays)]
    timelines = {}
    for b, start, length, items in plans:
        begin = NOW + timedelta(hours=start)
        playlist = Playlist(1, tuple(Item(20 + i, c, s) for i, (c, s) in enumerate(items)))
        segment = Segment(begin, begin + timedelta(hours=length), "fill", 1, 1, 0, False, playlist)
        timelines[boards[b]] = Timeline(boards[b], begin, segment.end, (segment,))
    with app.app_context():
        _forget()
        by_board: dict[int, list[Play]] = defaultdict(list)
        for board, play in sent:
            by_board[board].append(play)
        for board, batch in by_board.items():
            ingest_plays(db.session.get(Screen, board), batch, NOW)
        for board, timeline in timelines.items():
            record_plan(board, ZONES[boards.index(board)], timeline, timeline.start)
        db.session.commit()
        report = build_report(app.config["PANOLED"], scope(first, last), NOW)
        raw = db.session.execute(select(PlaybackEvent.screen_id, PlaybackEvent.campaign_id, PlaybackEvent.started_at,
                                        PlaybackEvent.ended_at)).all()

    delivered: dict[int, int] = defaultdict(int)
    airtime: dict[int, float] = defaultdict(float)
    per_day: dict[date, int] = defaultdict(int)
    for screen_id, campaign_id, started, ended in raw:
        day = _local_day(started, ZONES[boards.index(screen_id)])
        if campaign_id == CAMPAIGN and first <= day <= last:
            delivered[screen_id] += 1
            airtime[screen_id] += (ended - started).total_seconds()
            per_day[day] += 1
    planned: dict[int, int] = defaultdict(int)
    for board, timeline in timelines.items():
        for play in timeline.plays:
            day = _local_day(play.start, ZONES[boards.index(board)])
            if not play.truncated and play.campaign_id == CAMPAIGN and first <= day <= last:
                planned[board] += 1

    assert report.totals.delivered == sum(delivered.values())
    assert report.totals.airtime_seconds == pytest.approx(sum(airtime.values()), abs=1e-6)
    assert report.totals.boards_reached == len([b for b in delivered if delivered[b]])
    assert report.totals.planned == sum(planned.values())
    rows = {row.screen_id: row for row in report.boards}
    for board in boards:
        got = rows.get(board)
        assert (got.totals.delivered if got else 0) == delivered.get(board, 0)
        assert (got.totals.planned if got else 0) == planned.get(board, 0)
    assert [d.day for d in report.days] == [first + timedelta(days=n) for n in range((last - first).days + 1)]
    assert {d.day: d.totals.delivered for d in report.days if d.totals.delivered} == {d: n for d, n in per_day.items() if n}
    assert sum(report.hours) == report.totals.delivered
    assert report.chains_ok and {c.screen_id for c in report.chains} == set(rows)


def test_gaps_say_why_plays_are_missing(app: Flask, boards: list[int]) -> None:
    """Planned 08:00-12:00 (UTC board); 08 played in full, 09 nothing at all, 10 some of
    ours and other things, 11 after the last play the board has sent."""
    board = boards[1]
    day = date(2026, 3, 19)
    begin = datetime(2026, 3, 19, 8, 0, tzinfo=UTC)
    playlist = Playlist(1, (Item(10, CAMPAIGN, 60.0),))
    segment = Segment(begin, begin + timedelta(hours=4), "fill", 1, 1, 0, False, playlist)

    def play(at: datetime, asset: int = 10) -> Play:
        return Play(str(uuid.uuid4()), asset, 1, at, at + timedelta(seconds=60), None)

    sent = [play(begin + timedelta(minutes=m)) for m in range(60)]  # 08:00-09:00 in full
    sent += [play(begin + timedelta(hours=2, minutes=m)) for m in range(20)]  # 10:00-10:20 ours
    sent += [play(begin + timedelta(hours=2, minutes=m), asset=99) for m in range(20, 59)]  # then something else
    with app.app_context():
        record_plan(board, "UTC", Timeline(board, begin - timedelta(hours=2), segment.end, (segment,)),
                    begin - timedelta(hours=2))  # lit from 08:00: 06:00-08:00 dark
        ingest_plays(db.session.get(Screen, board), sent, NOW)
        db.session.commit()
        report = build_report(app.config["PANOLED"], scope(day, day), NOW)
    gaps = {(g.kind, g.hours): (g.planned, g.delivered) for g in report.gaps if g.screen_id == board}
    assert gaps == {("offline", "09:00–10:00"): (60, 0), ("short", "10:00–11:00"): (60, 20),
                    ("not_reported", "11:00–12:00"): (60, 0)}
    assert all(g.dark_hours == 2.0 for g in report.gaps)
    row = next(r for r in report.boards if r.screen_id == board)
    assert (row.totals.planned, row.totals.delivered) == (240, 80)
    assert row.totals.delivery_rate == pytest.approx(80 / 240)


def test_the_report_names_an_edited_play(app: Flask, boards: list[int]) -> None:
    board = boards[0]
    plays = played_on_19_march(app, board, 5)
    with app.app_context():
        assert build_report(app.config["PANOLED"], scope(date(2026, 3, 19), date(2026, 3, 19)), NOW).chains_ok
        db.session.execute(update(PlaybackEvent).where(PlaybackEvent.event_id == plays[2].event_id)
                           .values(ended_at=plays[2].ended_at + timedelta(seconds=5)))
        db.session.commit()
        report = build_report(app.config["PANOLED"], scope(date(2026, 3, 19), date(2026, 3, 19)), NOW)
    assert not report.chains_ok
    bad = next(c for c in report.chains if c.screen_id == board)
    assert "altered" in bad.problem and plays[2].event_id in bad.problem and "entry 3" in bad.problem


def test_the_newest_screenshot_of_the_range_is_a_sample_frame(app: Flask, boards: list[int]) -> None:
    from media_files import png_bytes

    from cms.services.media import storage

    board = boards[0]
    with app.app_context():
        ingest_plays(db.session.get(Screen, board), [Play(str(uuid.uuid4()), 10, 1, NOW - timedelta(hours=1),
                                                          NOW - timedelta(minutes=59), None)], NOW)
        store = storage(app.config["PANOLED"])
        key = store.new_key(".png")
        store.path(key).write_bytes(png_bytes(64, 32))
        db.session.merge(BoardHealth(screen_id=board, screenshot_key=key, screenshot_at=NOW))
        db.session.commit()
        report = build_report(app.config["PANOLED"], scope(NOW.date(), NOW.date()), NOW)
    assert [(f.screen_id, f.taken_at) for f in report.frames] == [(board, NOW)]
    assert report.frames[0].png.startswith(b"\x89PNG")


def test_panoled_report_acceptance_writes_each_format_and_fails_on_a_broken_chain(
        app: Flask, boards: list[int], imported_plan: object, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import unicodedata

    from pypdf import PdfReader

    from cms.cli import main
    from cms.models import Campaign

    board = boards[0]
    plays = played_on_19_march(app, board, 3)
    with app.app_context():
        title = db.session.get(Campaign, CAMPAIGN).title
    runner = app.test_cli_runner()
    args = ["report", "acceptance", "--campaign", str(CAMPAIGN), "--from", "2026-03-01", "--to", "2026-03-31"]
    for fmt in ("csv", "xlsx", "pdf"):
        result = runner.invoke(main, [*args, "--format", fmt, "-o", str(tmp_path / f"r.{fmt}")])
        assert result.exit_code == 0, result.output
        assert "3 play(s) of 0 planned" in result.output and "chains verified" in result.output
    assert (tmp_path / "r.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    text = unicodedata.normalize("NFC", " ".join(page.extract_text() for page in PdfReader(tmp_path / "r.pdf").pages))
    assert "BÁO CÁO KẾT QUẢ THỰC HIỆN, KHỐI LƯỢNG" in text and "Bảng LED số 0" in text and "81/KH-STNMT" in text
    assert title.split()[0] in text

    missing = runner.invoke(main, ["report", "acceptance", "--campaign", "9999", "--from", "2026-03-01", "--to",
                                   "2026-03-31", "--format", "csv", "-o", str(tmp_path / "none.csv")])
    assert missing.exit_code != 0 and "No such campaign" in missing.output and not (tmp_path / "none.csv").exists()
    backwards = runner.invoke(main, [*args[:4], "--from", "2026-03-31", "--to", "2026-03-01", "--format", "csv",
                                     "-o", str(tmp_path / "none.csv")])
    assert backwards.exit_code != 0 and "before the start" in backwards.output

    with app.app_context():
        db.session.execute(delete(PlaybackEvent).where(PlaybackEvent.event_id == plays[1].event_id))
        db.session.commit()
    broken = runner.invoke(main, [*args, "--format", "csv", "-o", str(tmp_path / "broken.csv")])
    assert broken.exit_code == 1 and "chains FAILED" in broken.output and "NT-0" in broken.output
    assert (tmp_path / "broken.csv").exists()  # written anyway: the failed check is in it


def test_the_report_page_shows_the_figures_and_downloads_each_format(
        client, app: Flask, boards: list[int], accounts: Accounts, imported_plan: object) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    played_on_19_march(app, boards[0], 7)
    query = {"scope": f"campaign:{CAMPAIGN}", "from": "2026-03-01", "to": "2026-03-31"}
    accounts.login("operator")
    assert client.get("/reports/acceptance", query_string=query).status_code == 403  # operators run boards, not payments
    assert client.get("/reports/acceptance/download", query_string={**query, "format": "csv"}).status_code == 403
    accounts.login("auditor")
    page = client.get("/reports/acceptance", query_string=query)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="daily-chart"' in html and "Bảng LED số 0" in html and 'id="chain-status"' in html
    csv_file = client.get("/reports/acceptance/download", query_string={**query, "format": "csv"})
    assert csv_file.status_code == 200 and csv_file.data.startswith(b"\xef\xbb\xbf")
    assert "attachment" in csv_file.headers["Content-Disposition"] and csv_file.headers["Cache-Control"] == "no-store"
    xlsx = client.get("/reports/acceptance/download", query_string={**query, "format": "xlsx"})
    import io
    assert load_workbook(io.BytesIO(xlsx.data)).sheetnames
    pdf = client.get("/reports/acceptance/download", query_string={**query, "format": "pdf"})
    assert pdf.data.startswith(b"%PDF") and pdf.headers["Content-Type"] == "application/pdf"
    bad = client.get("/reports/acceptance", query_string={**query, "to": "2026-02-01"})
    assert bad.status_code == 200 and 'role="alert"' in bad.get_data(as_text=True)  # said on the page, nothing built
    assert client.get("/reports/acceptance/download", query_string={**query, "format": "exe"}).status_code == 422
