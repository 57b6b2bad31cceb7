"""The app served over real HTTP on 127.0.0.1, and signing in through the login form in
Chromium: shared by the browser tests and the tests that need a real server."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from werkzeug.serving import make_server


@contextmanager
def served(app: Flask) -> Iterator[str]:
    """The base URL (no trailing slash) of `app` behind a threaded HTTP server on a free local port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="cms", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def sign_in(page: Any, base: str, email: str = "admin@example.org") -> None:
    """Through the login form, with the tests' strong password; lands on the start page."""
    from playwright.sync_api import expect

    from conftest import STRONG_PASSWORD

    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", STRONG_PASSWORD)
    with page.expect_navigation():
        page.locator('main form button[type="submit"]').click()
    expect(page).to_have_url(f"{base}/")
