"""Browser fixtures: the app served by a real HTTP server, and Chromium driven by Playwright.

`live_server` serves the function-scoped `app` fixture (its own fresh database) from a
werkzeug server in a daemon thread; each request runs in that server's threads with its
own app context, as in production. Chromium is Debian's /usr/bin/chromium: when it is
missing the browser tests fail (CI installs it), they are never skipped.

tests/ is on sys.path and the other test modules do `from conftest import ...`,
meaning tests/conftest.py. pytest loads every conftest.py outside a package under the
module name "conftest", so once this file is loaded it is what `import conftest`
finds. The module-level __getattr__ at the end hands every name this file does not
define on to tests/conftest.py, so those imports keep working wherever they run.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from web_session import served

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
_TESTS = Path(__file__).resolve().parents[1]
SCREENSHOTS = _TESTS.parent / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1280, "height": 900}


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The base URL (no trailing slash) of `app` served over HTTP on a free local port."""
    with served(app) as base:
        yield base


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's Chromium. "
            "Install it with `apt-get install -y chromium fonts-dejavu-core` (never `playwright install`).",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page in a fresh browser context (no cookies shared between tests), 1280x900."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def screenshots() -> Path:
    """Where screenshots go: test-artifacts/screenshots/ under the repository (gitignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


_config: pytest.Config | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _config
    _config = config


def __getattr__(name: str) -> Any:
    """Names defined in tests/conftest.py (STRONG_PASSWORD, PLAN_FILE, Accounts, ...)."""
    root = _config.pluginmanager.get_plugin(str(_TESTS / "conftest.py")) if _config is not None else None
    if root is None or name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(root, name)
