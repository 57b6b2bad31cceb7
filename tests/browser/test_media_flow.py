"""The media library in a real browser: upload with progress, thumbnails, approval, LED previews.

An editor signs in through the login form and drops three files (a poster, a photo and a
short clip, with Vietnamese names) on a campaign's media page; each gets its own progress
bar, the page reloads with three cards, and the derivative workers (threads against the
live server's app, as `panoled demo` runs them) make the thumbnails. The editor sends the
poster for approval; an approver, in a browser of their own, approves it from the review
queue and sees its LED previews for every board size. A refused file says why in the
upload list, and nobody is offered to approve their own upload. Screenshots go to
test-artifacts/screenshots/ for a person to look at.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

import media_files
from conftest import VIEWPORT
from web_session import sign_in

pytestmark = pytest.mark.browser

CAMPAIGN = 1
BOARD_PROFILES = 3  # config.toml's [[board_profiles]]
POSTER = "Áp phích Giờ Trái đất.png"
PHOTO = "Ảnh hiện trường – Ngày Môi trường.jpg"
CLIP = "Phim ngắn Sống xanh.mp4"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'

# Every image matched by the selector has loaded a real picture.
IMAGES_LOADED = """([selector, count]) => {
  const images = [...document.querySelectorAll(selector)];
  return images.length === count && images.every(img => img.complete && img.naturalWidth > 0);
}"""


@pytest.fixture
def derivative_workers(app: Flask) -> Iterator[list[threading.Thread]]:
    """Two derivative worker threads on the live server's app, stopped after the test."""
    from cms.services.derivatives import start_workers

    stop = threading.Event()
    threads = start_workers(app, 2, stop, poll_seconds=0.2)
    try:
        yield threads
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)


@pytest.fixture
def console_errors() -> list[str]:
    return []


def watch_console(page: Any, errors: list[str]) -> None:
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))


def no_csp_violations(errors: list[str]) -> None:
    csp = [text for text in errors if "Content Security Policy" in text]
    assert not csp, csp


def shoot(page: Any, directory: Path, name: str) -> None:
    page.wait_for_load_state("load")
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)


def payload(name: str, mime: str, data: bytes) -> dict[str, Any]:
    return {"name": name, "mimeType": mime, "buffer": data}


def status_button(page: Any, to_status: str) -> Any:
    return page.locator(f'form.status-action:has(input[name="to_status"][value="{to_status}"]) button[type="submit"]')


def upload(page: Any, files: list[dict[str, Any]], outcome: str) -> list[dict[str, Any]]:
    """Choose `files` on the media page and wait for every row to end `outcome` ("done" or
    "failed") with its bar at 100, then for the reload; returns what the rows showed."""
    with page.expect_navigation(timeout=30_000):  # upload.js reloads ~1.5 s after the last file
        page.set_input_files('.uploader .dropzone input[type="file"][name="files"]', files)
        rows = page.locator(".upload-list .upload-row")
        expect(rows).to_have_count(len(files))
        page.wait_for_function(
            """([count, outcome]) => {
              const rows = [...document.querySelectorAll('.upload-list .upload-row')];
              return rows.length === count && rows.every(r => r.classList.contains(outcome)
                && r.querySelector('progress').value === 100);
            }""", arg=[len(files), outcome], timeout=20_000)
        seen = page.evaluate("""() => [...document.querySelectorAll('.upload-list .upload-row')].map(r => ({
            name: r.querySelector('.name').textContent, value: r.querySelector('progress').value,
            max: r.querySelector('progress').max, classes: r.className, state: r.querySelector('.state').textContent.trim(),
            link: (r.querySelector('.state a') || {}).href || null}))""")
    page.wait_for_load_state("load")
    return seen


def wait_for_thumbnails(page: Any, count: int, timeout_s: float = 30.0) -> None:
    """The campaign page does not refresh itself: reload until the workers made every thumbnail."""
    import time

    deadline = time.monotonic() + timeout_s
    while page.locator(".media-card img.thumb").count() < count:
        assert time.monotonic() < deadline, "the thumbnails were not made in time"
        page.wait_for_timeout(500)
        page.reload()
    for i in range(count):
        page.locator(".media-card img.thumb").nth(i).scroll_into_view_if_needed()  # they load lazily
    page.wait_for_function(IMAGES_LOADED, arg=[".media-card img.thumb", count], timeout=10_000)
    page.evaluate("() => window.scrollTo(0, 0)")


def test_staff_upload_three_files_with_progress_and_an_approver_approves_them(
        page: Any, browser: Any, live_server: str, accounts: Any, imported_plan: Any,
        derivative_workers: Any, console_errors: list[str], screenshots: Path, tmp_path: Path) -> None:
    accounts.create("editor")
    accounts.create("approver")
    watch_console(page, console_errors)
    clip = media_files.mp4_file(tmp_path / "clip.mp4", seconds=1.0).read_bytes()
    files = [payload(POSTER, "image/png", media_files.png_bytes()),
             payload(PHOTO, "image/jpeg", media_files.jpeg_bytes()),
             payload(CLIP, "video/mp4", clip)]

    # The editor signs in and uploads three files at once: a row and a progress bar each.
    sign_in(page, live_server, "editor@example.org")
    page.goto(f"{live_server}/campaigns/{CAMPAIGN}/media")
    expect(page.locator(".media-card")).to_have_count(0)
    rows = upload(page, files, "done")
    assert sorted(r["name"] for r in rows) == sorted(f["name"] for f in files)
    for row in rows:
        assert row["value"] == 100 and row["max"] == 100, row
        assert "done" in row["classes"].split() and "failed" not in row["classes"].split(), row
        assert row["state"] and re.search(r"/media/\d+$", row["link"] or ""), row

    # After the reload: three cards, and the thumbnails once the workers made them.
    cards = page.locator(".media-card")
    expect(cards).to_have_count(3)
    for name in (POSTER, PHOTO, CLIP):
        expect(page.locator(".media-card a.name", has_text=name)).to_have_count(1)
    wait_for_thumbnails(page, 3)
    for i in range(3):
        expect(cards.nth(i).locator("img.thumb")).to_be_visible()
    expect(page.locator(".media-card .badge.media-draft")).to_have_count(3)
    shoot(page, screenshots, "media-campaign-after-upload-vi")

    # The editor opens the poster, waits for its renditions, and sends it for approval.
    page.locator(".media-card a.name", has_text=POSTER).click()
    expect(page).to_have_url(re.compile(r"/media/\d+$"))
    asset_url = page.url
    expect(page.locator("main h1")).to_have_text(POSTER)
    expect(page.locator(".renditions figure.rendition")).to_have_count(BOARD_PROFILES)
    # media.js reloads the page once every rendition is made; wait for that before clicking.
    expect(page.locator('.renditions [data-state="pending"], .renditions [data-state="running"]')).to_have_count(0, timeout=30_000)
    expect(page.locator('.renditions figure.rendition[data-state="done"]')).to_have_count(BOARD_PROFILES)
    expect(status_button(page, "approved")).to_have_count(0)
    with page.expect_navigation():
        status_button(page, "pending").click()
    expect(page).to_have_url(asset_url)
    expect(page.locator(".page-head .badge.media-pending")).to_be_visible()

    # The approver, in a browser of their own, finds it in the review queue and approves it.
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(15_000)
    try:
        approver = context.new_page()
        watch_console(approver, console_errors)
        sign_in(approver, live_server, "approver@example.org")
        approver.goto(f"{live_server}/media/review")
        items = approver.locator(".review-list .review-item")
        expect(items).to_have_count(1)
        item = items.first
        expect(item.locator("h2")).to_have_text(POSTER)
        expect(item.locator("img.thumb")).to_be_visible()
        approver.wait_for_function(IMAGES_LOADED, arg=[".review-item img.thumb", 1], timeout=10_000)
        shoot(approver, screenshots, "media-review-queue-vi")
        with approver.expect_navigation():
            item.locator('form:has(input[name="to_status"][value="approved"]) button[type="submit"]').click()
        expect(approver).to_have_url(re.compile(r"/media/review$"))
        expect(approver.locator(".flash-success")).to_be_visible()
        expect(approver.locator(".review-list .review-item")).to_have_count(0)

        # The asset page: approved, and an LED preview that renders for every board size.
        approver.goto(asset_url)
        expect(approver.locator(".page-head .badge.media-approved")).to_be_visible()
        figures = approver.locator(".renditions figure.rendition")
        expect(figures).to_have_count(BOARD_PROFILES)
        expect(approver.locator("figure.rendition img.led-preview")).to_have_count(BOARD_PROFILES)
        approver.wait_for_function(IMAGES_LOADED, arg=["figure.rendition img.led-preview", BOARD_PROFILES],
                                   timeout=10_000)
        for i in range(BOARD_PROFILES):
            expect(figures.nth(i).locator("img.led-preview")).to_be_visible()
        shoot(approver, screenshots, "media-asset-led-previews-vi")
    finally:
        context.close()

    # The editor sees the approval too.
    page.goto(asset_url)
    expect(page.locator(".page-head .badge.media-approved")).to_be_visible()
    no_csp_violations(console_errors)


def test_a_refused_file_says_why_in_the_upload_list(
        page: Any, live_server: str, accounts: Any, imported_plan: Any, console_errors: list[str],
        screenshots: Path) -> None:
    accounts.create("editor")
    watch_console(page, console_errors)
    sign_in(page, live_server, "editor@example.org")
    page.goto(f"{live_server}/campaigns/{CAMPAIGN}/media")

    with page.expect_navigation(timeout=30_000):
        page.set_input_files('.uploader input[type="file"][name="files"]',
                             [payload("Biểu trưng Sở.svg", "image/svg+xml", SVG)])
        failed = page.locator(".upload-list .upload-row.failed")
        expect(failed).to_have_count(1)
        expect(failed.locator(".state")).not_to_be_empty()
        message = failed.locator(".state").inner_text().strip()
        expect(page.locator(".upload-list .upload-row.done")).to_have_count(0)
        page.screenshot(path=str(screenshots / "media-upload-refused-vi.png"), full_page=True)
    page.wait_for_load_state("load")
    assert message
    expect(page.locator(".media-card")).to_have_count(0)
    expect(page.locator("main .empty")).to_be_visible()
    no_csp_violations(console_errors)


def test_the_editor_cannot_approve_their_own_upload(
        page: Any, live_server: str, accounts: Any, imported_plan: Any, console_errors: list[str],
        screenshots: Path) -> None:
    accounts.create("editor")
    watch_console(page, console_errors)
    sign_in(page, live_server, "editor@example.org")
    page.goto(f"{live_server}/campaigns/{CAMPAIGN}/media")
    upload(page, [payload(POSTER, "image/png", media_files.png_bytes(320, 200))], "done")

    page.locator(".media-card a.name", has_text=POSTER).click()
    expect(page).to_have_url(re.compile(r"/media/\d+$"))
    expect(status_button(page, "approved")).to_have_count(0)
    with page.expect_navigation():
        status_button(page, "pending").click()
    expect(page.locator(".page-head .badge.media-pending")).to_be_visible()
    # Pending, and it is the editor's own upload: no approve button, and why.
    expect(page.locator('input[name="to_status"][value="approved"]')).to_have_count(0)
    # The one thing offered is taking it back to draft.
    expect(page.locator('form.status-action input[name="to_status"]')).to_have_count(1)
    expect(page.locator('form.status-action input[name="to_status"][value="draft"]')).to_have_count(1)
    expect(page.locator("main button", has_text=re.compile(r"^\s*(Approve|Phê duyệt|Duyệt)\s*$"))).to_have_count(0)
    expect(page.locator("main .card p.muted").first).not_to_be_empty()
    shoot(page, screenshots, "media-asset-pending-own-upload-vi")
    no_csp_violations(console_errors)
