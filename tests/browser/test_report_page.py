"""The acceptance report in a real browser: chosen through its form, the daily chart is
drawn where a person sees it, and each format downloads as a file that opens. A
screenshot goes to test-artifacts/screenshots/ for a person to look at."""
from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from playwright.sync_api import expect
from pypdf import PdfReader

from board_calls import make_manifest, new_board
from conftest import STRONG_PASSWORD
from cms.extensions import db
from cms.models import Screen
from cms.services.plan_record import record_plan
from cms.services.playback import Play, ingest_plays
from scheduler.model import Item, Playlist, Segment, Timeline
from web_session import sign_in

pytestmark = pytest.mark.browser
CAMPAIGN = 4  # make_manifest's assets belong to it


def test_the_report_page_draws_the_chart_and_downloads_each_format(
        browser: Any, live_server: str, client: Any, app: Flask, accounts: Any, imported_plan: Any,
        screenshots: Path, tmp_path: Path) -> None:
    operator = accounts.token("operator")
    accounts.ensure("auditor", "auditor@example.org", STRONG_PASSWORD)
    boards = []
    for code, name in (("HX-01", "Bảng LED Ngã tư Hàng Xanh"), ("Q7-02", "Cổng chào Quận 7 – Nguyễn Văn Linh")):
        board, _secret = new_board(client, operator, code)
        make_manifest(app, board, 1, (10, 11))
        with app.app_context():
            db.session.get(Screen, board).name = name
            db.session.commit()
        boards.append(board)
    first_day = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 08:00 in Hồ Chí Minh City
    with app.app_context():
        for n, board in enumerate(boards):
            playlist = Playlist(1, (Item(10, CAMPAIGN, 60.0),))
            segments = tuple(Segment(first_day + timedelta(days=d), first_day + timedelta(days=d, hours=2), "fill", 1, 1,
                                     0, False, playlist) for d in range(5))
            record_plan(board, "Asia/Ho_Chi_Minh", Timeline(board, first_day, segments[-1].end, segments), first_day)
            plays = [Play(str(uuid.uuid4()), 10, 1, first_day + timedelta(days=d, minutes=m),
                          first_day + timedelta(days=d, minutes=m + 1), None)
                     for d in range(5) for m in range(0, 120 - 30 * n * (d % 2))]
            ingest_plays(db.session.get(Screen, board), plays, datetime(2026, 3, 20, tzinfo=UTC))
        db.session.commit()

    context = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True)
    context.set_default_timeout(15_000)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        sign_in(page, live_server, "auditor@example.org")
        page.locator("nav a[href='/reports/acceptance']").click()
        page.select_option("#scope", f"campaign:{CAMPAIGN}")
        page.fill("#from", "2026-03-08")
        page.fill("#to", "2026-03-16")
        with page.expect_navigation():
            page.locator("#report-filters button[type='submit']").click()

        expect(page.locator("#daily-chart")).to_be_visible()
        bars = page.locator("#daily-chart rect.delivered")
        assert bars.count() == 9  # one per day of the range, also days without plays
        tall = [bars.nth(i).bounding_box() for i in range(2, 7)]  # 10–14 March
        assert all(box is not None and box["height"] > 5 for box in tall), tall
        assert bars.first.evaluate("el => getComputedStyle(el).fill") not in ("none", "rgb(0, 0, 0)")
        expect(page.locator("#report-boards")).to_contain_text("Bảng LED Ngã tư Hàng Xanh")
        expect(page.locator("#report-gaps")).to_contain_text("Q7-02")  # it played 90 of 120 on two days
        expect(page.locator("#chain-status")).to_have_class("badge ok")
        page.screenshot(path=str(screenshots / "report-acceptance-vi.png"), full_page=True)

        files = {}
        for fmt in ("csv", "xlsx", "pdf"):
            with page.expect_download() as download:
                page.locator(f".downloads a:text-is('{fmt.upper()}')").click()
            target = tmp_path / download.value.suggested_filename
            download.value.save_as(target)
            assert target.suffix == f".{fmt}"
            files[fmt] = target.read_bytes()
    finally:
        context.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors
    assert files["csv"].startswith(b"\xef\xbb\xbf") and "Cổng chào Quận 7" in files["csv"].decode("utf-8-sig")
    assert load_workbook(io.BytesIO(files["xlsx"])).sheetnames[0] == "Tổng hợp"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(files["pdf"])).pages)
    assert "BÁO CÁO KẾT QUẢ THỰC HIỆN, KHỐI LƯỢNG" in text and "HX-01" in text
