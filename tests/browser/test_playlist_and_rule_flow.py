"""Building a playlist and scheduling it, in a real browser, through the pages alone.

Two posters and a clip are in campaign 1 (one poster not yet approved) and a board is
registered. The editor opens the campaign, makes a playlist, adds the three items, sees
the loop length, moves the clip to the top and shortens a poster; publishing is refused
with the unapproved poster named, so the editor removes it and publishes. From the
playlist the editor schedules it: a board, weekdays, a window across midnight and a
share of voice; the schedule lists the rule. Every field has a label, nothing violates
the CSP, and the pages fit a phone. Screenshots go to test-artifacts/screenshots/.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

import media_files
from conftest import STRONG_PASSWORD
from cms.services.derivatives import work_until_idle

pytestmark = pytest.mark.browser

CAMPAIGN = 1

UNLABELLED_FIELDS = """() => [...document.querySelectorAll('main input, main select, main textarea')]
  .filter(f => !['hidden', 'submit', 'button', 'reset', 'image'].includes(f.type))
  .filter(f => {
    const labels = [...(f.labels || [])].map(l => l.textContent.trim()).filter(Boolean);
    const aria = (f.getAttribute('aria-label') || '').trim();
    return labels.length === 0 && !aria;
  })
  .map(f => `${f.tagName.toLowerCase()}[name=${f.name}]#${f.id}`)"""

PAGE_WIDER_THAN_WINDOW = "() => document.documentElement.scrollWidth > window.innerWidth + 1"


def prepare(client: Any, app: Flask, accounts: Any, tmp_path: Path) -> dict[str, int]:
    """Media and a board made through the API, as other tests do; the pages are what is tested."""
    editor, approver = accounts.token("editor"), accounts.token("approver")
    made = {}
    for key, name, data in [("poster", "Áp phích Giờ Trái đất.png", media_files.png_bytes()),
                            ("draft", "Băng rôn chưa duyệt.jpg", media_files.jpeg_bytes()),
                            ("clip", "Phim ngắn Sống xanh.mp4", media_files.mp4_file(tmp_path / "c.mp4", seconds=2.0).read_bytes())]:
        response = client.post(f"/api/v1/media?campaign_id={CAMPAIGN}&filename={name}", data=data,
                               headers=editor | {"Content-Type": "application/octet-stream"})
        made[key] = response.get_json()["id"]
    with app.app_context():
        work_until_idle(app.config["PANOLED"])  # thumbnails
    for key in ("poster", "clip"):
        client.post(f"/api/v1/media/{made[key]}/transitions", headers=editor, json={"to": "pending"})
        assert client.post(f"/api/v1/media/{made[key]}/transitions", headers=approver, json={"to": "approved"}).status_code == 200
    made["board"] = client.post("/api/v1/screens", headers=accounts.token("operator"), json={
        "name": "Bảng Panoled Bãi Sau", "width": 960, "height": 320, "adapter": "simulator", "group": "TP Vũng Tàu"}).get_json()["id"]
    return made


def sign_in_in_english(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    with page.expect_navigation():
        page.locator('header button[name="lang"][value="en"]').click()
    page.fill("#email", email)
    page.fill("#password", STRONG_PASSWORD)
    with page.expect_navigation():
        page.locator('main form button[type="submit"]').click()
    expect(page).to_have_url(f"{base}/")


def item_names(page: Any) -> list[str]:
    return page.locator("ol.playlist-items .item-body a.name").all_inner_texts()


def shoot(page: Any, directory: Path, name: str) -> None:
    page.wait_for_load_state("load")
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)


def test_an_editor_builds_publishes_and_schedules_a_playlist(page: Any, live_server: str, app: Flask, client: Any,
                                                             accounts: Any, imported_plan: Any, tmp_path: Path,
                                                             screenshots: Path) -> None:
    made = prepare(client, app, accounts, tmp_path)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    sign_in_in_english(page, live_server, "editor@example.org")

    page.goto(f"{live_server}/campaigns/{CAMPAIGN}")
    page.locator(f'main a.button[href="/campaigns/{CAMPAIGN}/playlists"]').click()
    page.fill("#name", "Giờ Trái đất – bảng ven biển")
    with page.expect_navigation():
        page.locator('main form button[type="submit"]').click()
    expect(page.locator("h1")).to_have_text("Giờ Trái đất – bảng ven biển")
    expect(page.locator(".badge.state")).to_have_text("Draft")

    for key in ("poster", "draft", "clip"):
        with page.expect_navigation():
            page.locator(f'form:has(input[name="asset_id"][value="{made[key]}"]) button[type="submit"]').click()
    assert item_names(page) == ["Áp phích Giờ Trái đất.png", "Băng rôn chưa duyệt.jpg", "Phim ngắn Sống xanh.mp4"]
    expect(page.locator(".loop-length")).to_have_text("22 s")
    expect(page.locator(".why-not")).to_contain_text("Băng rôn chưa duyệt.jpg")
    expect(page.locator('form[action$="/publish"] button')).to_be_disabled()
    page.wait_for_function("() => [...document.querySelectorAll('ol.playlist-items img.thumb')].every(i => i.complete && i.naturalWidth > 0)")
    shoot(page, screenshots, "playlist-draft-en")

    clip = page.locator("ol.playlist-items > li").nth(2)
    with page.expect_navigation():
        clip.locator('button[name="direction"][value="up"]').click()
    with page.expect_navigation():
        page.locator("ol.playlist-items > li").nth(1).locator('button[name="direction"][value="up"]').click()
    assert item_names(page)[0] == "Phim ngắn Sống xanh.mp4"
    poster = page.locator("ol.playlist-items > li", has_text="Áp phích")
    poster.locator("input.seconds").fill("8")
    with page.expect_navigation():
        poster.locator('button:text-is("Set")').click()
    expect(page.locator(".loop-length")).to_have_text("20 s")
    with page.expect_navigation():
        page.locator("ol.playlist-items > li", has_text="Băng rôn").locator("button.danger").click()
    expect(page.locator(".loop-length")).to_have_text("10 s")
    with page.expect_navigation():
        page.locator('form[action$="/publish"] button').click()
    expect(page.locator(".badge.state")).to_have_text("Published")
    assert page.evaluate(UNLABELLED_FIELDS) == []
    shoot(page, screenshots, "playlist-published-en")

    page.locator('main a.button[href*="/schedule/new?playlist="]').click()
    expect(page.locator("#playlist_id option:checked")).to_have_text("Giờ Trái đất – bảng ven biển")
    page.locator(f'input[name="board_ids"][value="{made["board"]}"]').check()
    for sunday_and_saturday in ("5", "6"):
        page.locator(f'input[name="weekdays"][value="{sunday_and_saturday}"]').uncheck()
    page.fill("#windows", "06:00-08:00, 22:00-02:00")
    page.locator('input[name="quota"][value="share_of_voice"]').check()
    page.fill("#share_percent", "25")
    assert page.evaluate(UNLABELLED_FIELDS) == []
    shoot(page, screenshots, "rule-form-en")
    with page.expect_navigation():
        page.locator('main form button[type="submit"].primary').click()

    expect(page).to_have_url(re.compile(r"/schedule/#rule-\d+$"))
    row = page.locator("table.rules tbody tr").first
    expect(row).to_contain_text("22:00–02:00 (to the next day)")
    expect(row).to_contain_text("Mon, Tue, Wed, Thu, Fri")
    expect(row).to_contain_text("25% share of voice")
    expect(row).to_contain_text("PNL-001")
    expect(page.locator('header nav a[href="/schedule/"]')).to_be_visible()
    shoot(page, screenshots, "rule-list-en")

    page.set_viewport_size({"width": 390, "height": 844})
    for name, path in (("playlist", "/playlists/1"), ("rule-form-en", "/schedule/new"), ("rule-list-en", "/schedule/")):
        page.goto(f"{live_server}{path}")
        assert not page.evaluate(PAGE_WIDER_THAN_WINDOW), path
        shoot(page, screenshots, f"mobile-{name}-en")
    assert not [e for e in errors if "Content Security Policy" in e], errors
