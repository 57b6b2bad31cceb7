"""Accessibility and layout in a real browser: keyboard-only sign-in, labelled fields, phone width."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from conftest import STRONG_PASSWORD
from web_session import sign_in

pytestmark = pytest.mark.browser

# Every form field a person fills in, with what names it: its <label>s, else aria-label(ledby).
UNLABELLED_FIELDS = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(f => !['hidden', 'submit', 'button', 'reset', 'image'].includes(f.type))
  .filter(f => {
    const labels = [...(f.labels || [])].map(l => l.textContent.trim()).filter(Boolean);
    const aria = (f.getAttribute('aria-label') || '').trim();
    const ids = (f.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean);
    const by = ids.map(id => (document.getElementById(id) || {}).textContent || '').join('').trim();
    return labels.length === 0 && !aria && !by;
  })
  .map(f => `${f.tagName.toLowerCase()}[name=${f.name}]#${f.id}`)"""

# The document is no wider than the window; wide content may scroll only inside its own box.
HORIZONTAL_OVERFLOW = """() => {
  const width = window.innerWidth;
  const wide = [...document.body.querySelectorAll('*')]
    .filter(el => !el.closest('.table-wrap, .timeline'))
    .filter(el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.right > width + 1; })
    .map(el => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.className ? '.' + String(el.className).split(' ').join('.') : ''}`
               + ` right=${Math.round(el.getBoundingClientRect().right)}`);
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width, wide: wide.slice(0, 10)};
}"""


def focused(page: Any) -> str:
    return page.evaluate("() => document.activeElement ? document.activeElement.id : ''")


def test_sign_in_with_the_keyboard_only(page: Any, live_server: str, accounts: Any) -> None:
    accounts.create("editor")
    page.goto(f"{live_server}/login")

    # The first Tab stop is the skip link, and it comes into view when focused.
    page.keyboard.press("Tab")
    skip = page.locator("a.skip")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0, box

    for _ in range(10):
        if focused(page) == "email":
            break
        page.keyboard.press("Tab")
    expect(page.locator("#email")).to_be_focused()
    page.keyboard.type("editor@example.org")
    page.keyboard.press("Tab")
    expect(page.locator("#password")).to_be_focused()
    page.keyboard.type(STRONG_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")

    expect(page).to_have_url(f"{live_server}/")
    expect(page.locator('header form[action$="/logout"]')).to_have_count(1)
    expect(page.locator("header .who")).to_contain_text("editor@example.org")
    expect(page.locator("p.count[data-count]")).to_be_visible()


def test_every_field_has_a_label(page: Any, live_server: str, accounts: Any, imported_plan: Any,
                                 screenshots: Path) -> None:
    accounts.create("admin")
    page.goto(f"{live_server}/login")
    assert page.evaluate(UNLABELLED_FIELDS) == [], "login"
    expect(page.locator("#email")).to_be_visible()

    sign_in(page, live_server)
    checked = {}
    page.goto(f"{live_server}/plans/import")
    expect(page.locator('input[type="file"][name="file"]')).to_be_visible()
    checked["import"] = page.evaluate(UNLABELLED_FIELDS)

    page.goto(f"{live_server}/")
    checked["campaign table filters"] = page.evaluate(UNLABELLED_FIELDS)

    page.locator("table.campaigns tbody tr a").first.click()
    expect(page).to_have_url(re.compile(r"/campaigns/\d+$"))
    checked["campaign detail"] = page.evaluate(UNLABELLED_FIELDS)

    page.locator('main a.button[href$="/edit"]').click()
    expect(page).to_have_url(re.compile(r"/campaigns/\d+/edit$"))
    expect(page.locator("#title")).to_be_visible()
    expect(page.locator('input[type="checkbox"][name="channels"]').first).to_be_visible()
    checked["campaign edit"] = page.evaluate(UNLABELLED_FIELDS)
    page.wait_for_load_state("load")
    page.screenshot(path=str(screenshots / "campaign-edit-vi.png"), full_page=True)

    assert checked == {name: [] for name in checked}


@pytest.mark.parametrize("path", [
    "/",
    "/campaigns/timeline",
    "/campaigns/3",
    "/plans/import",
    "/account/",
    "/admin/users",
])
def test_no_sideways_scrolling_on_a_phone(browser: Any, live_server: str, accounts: Any, imported_plan: Any,
                                          screenshots: Path, path: str) -> None:
    accounts.create("admin")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        sign_in(page, live_server)
        page.goto(f"{live_server}{path}")
        expect(page.locator("main h1")).to_be_visible()
        name = "mobile-" + (path.strip("/").replace("/", "-") or "campaigns")
        page.screenshot(path=str(screenshots / f"{name}-vi.png"), full_page=True)
        if path == "/":
            expect(page.locator("table.campaigns tbody tr")).to_have_count(16)
            wrap = page.locator(".table-wrap").bounding_box()
            assert wrap is not None and wrap["x"] >= 0 and wrap["x"] + wrap["width"] <= 390 + 1, wrap
        layout = page.evaluate(HORIZONTAL_OVERFLOW)
        assert layout["scrollWidth"] <= layout["innerWidth"] + 1, layout
    finally:
        context.close()
