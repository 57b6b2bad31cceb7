"""The week calendar in a real browser: blocks are drawn where a person can see them, on a
1366x768 laptop screen, with no inline style for the CSP to block. Screenshots go to
test-artifacts/screenshots/ for a person to look at."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

import media_files
from cms.services.derivatives import work_until_idle
from web_session import sign_in

pytestmark = pytest.mark.browser

JUNE = {"date_from": "2024-06-01", "date_to": "2024-06-30"}


def published_playlist(client, app: Flask, editor: dict[str, str], approver: dict[str, str], campaign_id: int) -> int:  # type: ignore[no-untyped-def]
    asset = client.post(f"/api/v1/media?campaign_id={campaign_id}&filename=p.png", data=media_files.png_bytes(),
                        headers=editor | {"Content-Type": "application/octet-stream"}).get_json()["id"]
    with app.app_context():
        work_until_idle(app.config["PANOLED"])
    client.post(f"/api/v1/media/{asset}/transitions", headers=editor, json={"to": "pending"})
    client.post(f"/api/v1/media/{asset}/transitions", headers=approver, json={"to": "approved"})
    playlist = client.post("/api/v1/playlists", headers=editor, json={"campaign_id": campaign_id, "name": "Sống xanh"}).get_json()["id"]
    client.post(f"/api/v1/playlists/{playlist}/items", headers=editor, json={"asset_id": asset, "duration": 30})
    assert client.post(f"/api/v1/playlists/{playlist}/publish", headers=editor).status_code == 200
    return playlist


def test_the_week_calendar_draws_visible_blocks_on_a_laptop_screen(
        browser: Any, live_server: str, client: Any, app: Flask, accounts: Any, imported_plan: Any, screenshots: Path) -> None:
    editor, approver, operator = accounts.token("editor"), accounts.token("approver"), accounts.token("operator")
    board = client.post("/api/v1/screens", headers=operator, json={
        "name": "Bảng Panoled Bãi Sau", "width": 960, "height": 320, "adapter": "simulator", "group": "Vũng Tàu",
        "operating_hours": "05:30-22:00"}).get_json()["id"]
    morning = published_playlist(client, app, editor, approver, campaign_id=4)
    evening = published_playlist(client, app, editor, approver, campaign_id=5)
    rules = [
        {"playlist_id": morning, "board_ids": [board], "windows": ["07:00-09:00"], "weekdays": [0, 2, 4]},
        {"playlist_id": evening, "board_ids": [board], "windows": ["17:00-21:30"], "priority": 1},
        {"playlist_id": evening, "board_ids": [board], "plays_per_hour": 4, "priority": 2},
    ]
    ids = [client.post("/api/v1/rules", headers=editor, json=JUNE | body).get_json()["id"] for body in rules]
    storm = client.post("/api/v1/rules", headers=editor, json=JUNE | {
        "playlist_id": morning, "board_ids": [board], "interrupt": True, "windows": ["12:00-13:30"], "weekdays": [2]}).get_json()["id"]
    assert client.post(f"/api/v1/rules/{storm}/approve", headers=approver).status_code == 200

    context = browser.new_context(viewport={"width": 1366, "height": 768})
    context.set_default_timeout(15_000)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        sign_in(page, live_server, "editor@example.org")
        page.goto(f"{live_server}/schedule/boards/{board}/week?week=2024-W23")
        expect(page.locator("svg.calendar")).to_be_visible()

        for selector in (f'g[data-day="2024-06-03"] rect.block[data-rule="{ids[0]}"]',
                         f'g[data-day="2024-06-07"] rect.block[data-rule="{ids[1]}"]',
                         f'g[data-day="2024-06-05"] rect.block.interrupt[data-rule="{storm}"]',
                         f'g[data-day="2024-06-03"] g.ticks[data-rule="{ids[2]}"] rect',
                         'g[data-day="2024-06-03"] rect.dark'):
            shape = page.locator(selector).first
            box = shape.bounding_box()
            assert box is not None and box["width"] > 0 and box["height"] >= 1, (selector, box)
            assert shape.evaluate("el => getComputedStyle(el).fill") not in ("none", "rgb(0, 0, 0)"), selector
        fills = {page.locator(f'g[data-day="2024-06-03"] rect.block[data-rule="{rule}"]').first.evaluate(
            "el => getComputedStyle(el).fill") for rule in ids[:2]}
        assert len(fills) == 2  # two campaigns, two colours
        calendar = page.locator("svg.calendar").bounding_box()
        assert calendar is not None and calendar["x"] + calendar["width"] <= 1366, calendar
        expect(page.locator(".legend")).to_contain_text("Làm cho thế giới sạch hơn")
        page.screenshot(path=str(screenshots / "calendar-week-1366-vi.png"))
        page.screenshot(path=str(screenshots / "calendar-week-full-vi.png"), full_page=True)

        page.goto(f"{live_server}/schedule/conflicts?from=2024-06-03&to=2024-06-09")
        expect(page.locator("main h1")).to_be_visible()
        page.screenshot(path=str(screenshots / "calendar-conflicts-vi.png"), full_page=True)
    finally:
        context.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors
