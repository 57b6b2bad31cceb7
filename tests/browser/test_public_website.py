"""The public website in a real browser, signed out: the campaign page shows the
published poster (its image loaded, with its alt text) and the post; a screenshot
goes to test-artifacts/screenshots/ for a person to look at."""
from __future__ import annotations

import functools
import http.server
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from cms.extensions import db
from cms.models import Campaign, MediaAsset
from cms.services import website
from web_session import sign_in
from website_setup import CAMPAIGN, approved, people, poster_on_campaign

pytestmark = pytest.mark.browser


def test_the_campaign_page_shows_the_published_poster_to_a_visitor(
        browser: Any, live_server: str, client: Any, app: Flask, accounts: Any, imported_plan: Any,
        screenshots: Path) -> None:
    poster = poster_on_campaign(client, app, accounts.token("editor"), accounts.token("approver"), 3,
                                alt="Áp phích: tắt đèn một giờ vì Trái Đất")
    writer, reviewer = people(app, accounts)
    now = datetime.now(UTC)
    with app.app_context():
        website.set_web_public(db.session.get(MediaAsset, poster), True, writer)
        post = approved("Cùng tắt đèn trong Giờ Trái Đất 2024", "20 giờ 30 ngày 23/3/2024.",
                        "Mời người dân tắt đèn và thiết bị điện không cần thiết.", [poster], writer, reviewer, now)
        website.move(post, "published", writer, now)
        db.session.commit()
        title = db.session.get(Campaign, CAMPAIGN).title

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.goto(f"{live_server}/public/")
        page.locator(".plan a").first.click()
        page.locator(f"a[href='/public/campaigns/{CAMPAIGN}']").click()
        image = page.locator(".gallery img[alt='Áp phích: tắt đèn một giờ vì Trái Đất']")
        expect(image).to_be_visible()
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
        expect(page.locator("h1")).to_have_text(title)
        expect(page.locator("ul.posts")).to_contain_text("Cùng tắt đèn trong Giờ Trái Đất 2024")
        assert page.locator("html").get_attribute("lang") == "vi"
        page.screenshot(path=str(screenshots / "public-campaign.png"), full_page=True)
        page.locator("ul.posts a").first.click()
        expect(page.locator("article h1")).to_have_text("Cùng tắt đèn trong Giờ Trái Đất 2024")
        page.screenshot(path=str(screenshots / "public-post.png"), full_page=True)
        assert context.cookies() == []
    finally:
        context.close()
    assert not errors, errors


def test_an_editor_writes_a_post_in_the_browser(browser: Any, live_server: str, client: Any, app: Flask,
                                                accounts: Any, imported_plan: Any, screenshots: Path) -> None:
    poster_on_campaign(client, app, accounts.token("editor"), accounts.token("approver"), 4, alt="Áp phích tháng 6")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        sign_in(page, live_server, "editor@example.org")
        page.goto(f"{live_server}/campaigns/{CAMPAIGN}")
        page.locator(f"a[href='/campaigns/{CAMPAIGN}/website']").click()
        with page.expect_navigation():
            page.locator("#web-media button", has_text="Đưa lên trang").click()
        expect(page.locator("#web-media button")).to_have_text("Gỡ khỏi trang")
        page.fill("#title", "Tháng hành động vì môi trường 2024")
        page.fill("#summary", "Các hoạt động hưởng ứng Ngày Môi trường thế giới.")
        page.fill("#body", "Đoạn một.\n\nĐoạn hai.")
        page.get_by_label("poster-4.png").check()
        page.screenshot(path=str(screenshots / "website-campaign-vi.png"), full_page=True)
        with page.expect_navigation():
            page.locator("#new-post button[type='submit']").click()
        expect(page.locator("h1")).to_have_text("Tháng hành động vì môi trường 2024")
        expect(page.locator("#post-preview img[alt='Áp phích tháng 6']")).to_be_visible()
        with page.expect_navigation():
            page.locator("#post-moves button", has_text="Gửi phê duyệt").click()
        expect(page.locator("#post-status")).to_have_text("Chờ phê duyệt")
        page.screenshot(path=str(screenshots / "website-post-vi.png"), full_page=True)
    finally:
        context.close()


def test_the_widget_on_a_page_of_another_origin_shows_the_poster(
        browser: Any, live_server: str, client: Any, app: Flask, accounts: Any, imported_plan: Any,
        screenshots: Path, tmp_path: Path) -> None:
    poster = poster_on_campaign(client, app, accounts.token("editor"), accounts.token("approver"), 8,
                                alt="Áp phích trên cổng thông tin")
    writer, _reviewer = people(app, accounts)
    with app.app_context():
        website.set_web_public(db.session.get(MediaAsset, poster), True, writer)
        db.session.commit()
    # The portal: another origin (its own server and port), with the snippet the campaign page offers.
    (tmp_path / "index.html").write_text(
        '<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Cổng thông tin tỉnh</title></head>'
        '<body><h1>Cổng thông tin điện tử tỉnh</h1><aside style="width:420px">'
        f'<div data-panoled-campaign="{CAMPAIGN}" data-title="Chiến dịch"></div></aside>'
        f'<script src="{live_server}/public/widget.js" async></script></body></html>', encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    portal = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=portal.serve_forever, daemon=True)
    thread.start()
    context = browser.new_context(viewport={"width": 900, "height": 900})
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{portal.server_port}/index.html")
        frame = page.frame_locator("iframe[title='Chiến dịch']")
        image = frame.locator("img[alt='Áp phích trên cổng thông tin']")
        expect(image).to_be_visible()
        image.evaluate("img => img.decode()")
        assert image.evaluate("img => img.naturalWidth") > 0
        # The frame grew to its content (the widget told the portal its height).
        page.wait_for_function("() => document.querySelector('iframe').getBoundingClientRect().height > 200")
        page.screenshot(path=str(screenshots / "public-widget-on-portal.png"), full_page=True)
    finally:
        context.close()
        portal.shutdown()
        portal.server_close()


def test_the_portal_export_opens_from_disk_with_its_images(browser: Any, client: Any, app: Flask, accounts: Any,
                                                           imported_plan: Any, screenshots: Path,
                                                           tmp_path: Path) -> None:
    """A webmaster unpacks the zip and opens index.html: the pages and the poster load from
    the folder alone (nothing is fetched from the department's server)."""
    import io
    import zipfile

    poster = poster_on_campaign(client, app, accounts.token("editor"), accounts.token("approver"), 7,
                                alt="Áp phích: phân loại rác tại nguồn")
    writer, reviewer = people(app, accounts)
    now = datetime.now(UTC)
    with app.app_context():
        website.set_web_public(db.session.get(MediaAsset, poster), True, writer)
        post = approved("Phân loại rác tại nguồn", "", "Hướng dẫn cho hộ gia đình.", [poster], writer, reviewer, now)
        website.move(post, "published", writer, now)
        db.session.commit()
    accounts.login("editor")
    answer = client.get(f"/campaigns/{CAMPAIGN}/website/export.zip")
    with zipfile.ZipFile(io.BytesIO(answer.get_data())) as archive:
        archive.extractall(tmp_path)

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    requested: list[str] = []
    try:
        page = context.new_page()
        page.on("request", lambda request: requested.append(request.url))
        page.goto((tmp_path / "index.html").as_uri())
        page.locator(f"a[href='campaign-{CAMPAIGN}.html']").click()
        image = page.locator(".gallery img[alt='Áp phích: phân loại rác tại nguồn']")
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
        page.screenshot(path=str(screenshots / "portal-export-campaign.png"), full_page=True)
        page.locator("ul.posts a", has_text="Phân loại rác tại nguồn").click()
        expect(page.locator("article h1")).to_have_text("Phân loại rác tại nguồn")
    finally:
        context.close()
    assert requested and all(url.startswith("file://") for url in requested), requested
