"""The whole first-use path in a real browser: sign in, import the yearly plan, read it back.

An administrator signs in through the login form, uploads the plan file, checks the
preview, imports it, and reads the campaign table, the timeline and a campaign, in
Vietnamese and in English. Screenshots of every page in both languages go to
test-artifacts/screenshots/ for a person to look at.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from babel.support import Translations
from playwright.sync_api import expect

from conftest import PLAN_FILE, STRONG_PASSWORD

pytestmark = pytest.mark.browser

TRANSLATIONS = Path(__file__).resolve().parents[2] / "cms" / "translations"
PLAN_CAMPAIGNS = 16


def vietnamese(msgid: str) -> str:
    """The compiled Vietnamese text of `msgid`, or `msgid` itself while it is untranslated."""
    return Translations.load(str(TRANSLATIONS), ["vi"]).gettext(msgid)


def switch_language(page: Any, code: str) -> None:
    with page.expect_navigation():
        page.locator(f'.lang-switch button[name="lang"][value="{code}"]').click()
    expect(page.locator("html")).to_have_attribute("lang", code)
    expect(page.locator(f'.lang-switch button[value="{code}"]')).to_have_attribute("aria-current", "true")


def shoot(page: Any, directory: Path, name: str) -> None:
    page.wait_for_load_state("load")
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)


def upload_plan(page: Any) -> None:
    page.locator('header nav a[href$="/plans/import"]').click()
    expect(page).to_have_url(re.compile(r"/plans/import$"))
    page.set_input_files('input[type="file"][name="file"]', str(PLAN_FILE))
    with page.expect_navigation():
        page.locator('main form[enctype="multipart/form-data"] button[type="submit"]').click()


def check_timeline_bars(page: Any) -> None:
    """Every bar starts under the month column its gs-N class names and ends under the last month it spans."""
    page.wait_for_load_state("load")  # measure with the stylesheet applied
    months = page.locator(".tl-head .tl-month")
    expect(months).to_have_count(12)
    columns = [months.nth(i).bounding_box() for i in range(12)]
    bars = page.locator(".tl-bar")
    assert bars.count() > 0
    for i in range(bars.count()):
        bar = bars.nth(i)
        classes = bar.get_attribute("class") or ""
        start = int(re.search(r"\bgs-(\d+)\b", classes).group(1))  # type: ignore[union-attr]
        span = int(re.search(r"\bspan-(\d+)\b", classes).group(1))  # type: ignore[union-attr]
        assert 1 <= start and start + span - 1 <= 12, classes
        box = bar.bounding_box()
        first, last = columns[start - 1], columns[start + span - 2]
        assert box is not None and box["width"] > 0 and box["height"] > 0
        assert abs(box["x"] - first["x"]) <= 4, (classes, box, first)
        assert abs((box["x"] + box["width"]) - (last["x"] + last["width"])) <= 4, (classes, box, last)
    # As the plan states them: "Tháng 3/2024" is March, "Quý III/2024" July-September, "Năm 2024" all year.
    expect(page.locator('.tl-bar[title="Tháng 3/2024"]')).to_have_class(re.compile(r"\bgs-3\b.*\bspan-1\b"))
    expect(page.locator('.tl-bar[title="Quý III/2024"]').first).to_have_class(re.compile(r"\bgs-7\b.*\bspan-3\b"))
    expect(page.locator('.tl-bar[title="Năm 2024"]').first).to_have_class(re.compile(r"\bgs-1\b.*\bspan-12\b"))


def check_campaign_table(page: Any) -> None:
    expect(page.locator("p.count[data-count]")).to_have_attribute("data-count", str(PLAN_CAMPAIGNS))
    expect(page.locator("table.campaigns tbody tr")).to_have_count(PLAN_CAMPAIGNS)


def test_admin_imports_the_yearly_plan_and_reads_it_in_both_languages(
        page: Any, live_server: str, accounts: Any, screenshots: Path) -> None:
    accounts.create("admin")
    console_errors: list[str] = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: console_errors.append(str(error)))

    # Signed out: the login page, Vietnamese by default, and in English.
    page.goto(f"{live_server}/login")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.locator("#email")).to_be_visible()
    shoot(page, screenshots, "login-vi")
    switch_language(page, "en")
    expect(page.locator("main h1")).to_have_text("Sign in")
    shoot(page, screenshots, "login-en")
    switch_language(page, "vi")

    # Sign in through the form.
    page.fill("#email", "admin@example.org")
    page.fill("#password", STRONG_PASSWORD)
    with page.expect_navigation():
        page.locator('main form button[type="submit"]').click()
    expect(page).to_have_url(f"{live_server}/")
    expect(page.locator("p.count")).to_have_attribute("data-count", "0")
    expect(page.locator("html")).to_have_attribute("lang", "vi")

    # Upload: the preview lists 16 new campaigns and writes nothing yet.
    upload_plan(page)
    expect(page).to_have_url(re.compile(r"/plans/import$"))
    summary = page.locator("p.summary")
    expect(summary).to_have_attribute("data-created", str(PLAN_CAMPAIGNS))
    expect(summary).to_have_attribute("data-updated", "0")
    expect(summary).to_have_text(re.compile(rf"(^|\D){PLAN_CAMPAIGNS}(\D|$)"))
    expect(page.locator("table.preview tbody tr.action-create")).to_have_count(PLAN_CAMPAIGNS)
    expect(page.locator("main")).to_contain_text("81/KH-STNMT")
    shoot(page, screenshots, "preview-vi")

    # Import: the campaign table shows the 16 campaigns.
    with page.expect_navigation():
        page.locator('form[action$="/plans/import/confirm"] button[type="submit"]').click()
    expect(page).to_have_url(re.compile(r"/\?plan=\d+$"))
    expect(page.locator(".flash-success")).to_contain_text(str(PLAN_CAMPAIGNS))
    check_campaign_table(page)
    expect(page.locator("table.campaigns")).to_contain_text("Ngày Quốc tế Đa dạng sinh học")
    shoot(page, screenshots, "campaigns-vi")

    # The timeline: bars under the right months.
    page.locator('header nav a[href$="/campaigns/timeline"]').click()
    expect(page).to_have_url(re.compile(r"/campaigns/timeline$"))
    expect(page.locator("main h1")).to_contain_text("2024")
    check_timeline_bars(page)
    shoot(page, screenshots, "timeline-vi")

    # A campaign, opened from the timeline.
    page.locator(".tl-label a", has_text="Ngày Quốc tế Đa dạng sinh học").click()
    expect(page).to_have_url(re.compile(r"/campaigns/\d+$"))
    expect(page.locator("main h1")).to_contain_text("Ngày Quốc tế Đa dạng sinh học")
    expect(page.locator("ol.steps li[aria-current='step']")).to_have_count(1)
    shoot(page, screenshots, "campaign-detail-vi")
    detail_url = page.url

    # English, from the page being read: the same campaign, then the table and the timeline.
    switch_language(page, "en")
    expect(page).to_have_url(detail_url)
    expect(page.locator("header nav")).to_contain_text("Campaigns")
    expect(page.locator("header nav a", has_text="Campaigns")).to_be_visible()
    expect(page.locator("main dl.facts")).to_contain_text("Lead unit")
    shoot(page, screenshots, "campaign-detail-en")

    page.locator("header nav a", has_text="Campaigns").click()
    expect(page.locator("main h1")).to_have_text("Campaigns")
    check_campaign_table(page)
    expect(page.locator("p.count")).to_have_text(f"{PLAN_CAMPAIGNS} campaigns")
    shoot(page, screenshots, "campaigns-en")

    page.locator("header nav a", has_text="Timeline").click()
    check_timeline_bars(page)
    expect(page.locator(".tl-head .tl-month").first).to_have_text("M1")
    shoot(page, screenshots, "timeline-en")

    # The preview in English: the same file again is all unchanged; cancel writes nothing.
    upload_plan(page)
    expect(page.locator("main h1")).to_have_text("Preview of the import")
    expect(page.locator("p.summary")).to_have_attribute("data-created", "0")
    expect(page.locator("p.summary")).to_contain_text(f"{PLAN_CAMPAIGNS} unchanged")
    shoot(page, screenshots, "preview-en")
    with page.expect_navigation():
        page.locator('form[action$="/plans/import/cancel"] button[type="submit"]').click()
    expect(page.locator(".flash-info")).to_contain_text("nothing was written")

    # Back to Vietnamese.
    switch_language(page, "vi")
    campaigns_vi = vietnamese("Campaigns")
    if campaigns_vi != "Campaigns":  # once the catalogue translates it, the menu must show it
        expect(page.locator("header nav")).to_contain_text(campaigns_vi)
        expect(page.locator("header nav")).not_to_contain_text("Campaigns")
    page.goto(f"{live_server}/")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    check_campaign_table(page)

    csp = [text for text in console_errors if "Content Security Policy" in text]
    assert not csp, csp
