"""Fixtures after Flask's tutorial: `app`, `client`, `runner`, plus accounts and API tokens.

Every test gets a fresh database. SQLite: a copy of a migrated template file.
PostgreSQL (when PANOLED_DATABASE__URL names one, as .ci/run does): one database
per xdist worker, created and migrated once, with every table emptied before each test.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cms import create_app
from cms.config import load_config
from cms.database import upgrade
from cms.extensions import db

# The real WordPress of the publisher tests: one site per session (per xdist worker), shared.
pytest_plugins = ["wordpress_site"]

REPO = Path(__file__).resolve().parents[1]
SHARED_PLAN = REPO.parent / "shared" / "plan" / "ke-hoach-81-KH-STNMT-2024.txt"
DEMO_PLAN = REPO / "cms" / "demo" / "ke-hoach-81-KH-STNMT-2024.txt"
PLAN_FILE = SHARED_PLAN if SHARED_PLAN.exists() else DEMO_PLAN
STRONG_PASSWORD = "song-xanh-ven-bien-2024"


def _server_url() -> str | None:
    url = os.environ.get("PANOLED_DATABASE__URL", "")
    return url if url.startswith("postgresql") else None


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> dict[str, Any]:
    server = _server_url()
    if server is None:
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        engine = create_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()
        with sqlite3.connect(path) as connection:  # fold the WAL in so a plain file copy is complete
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return {"kind": "sqlite", "path": path}
    url = make_url(server.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"{url.database or 'panoled_test'}_{worker_id}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    test_url = url.set(database=name)
    engine = create_engine(test_url)
    upgrade(engine)
    engine.dispose()
    return {"kind": "postgresql", "url": test_url.render_as_string(hide_password=False)}


def _fresh_database(template: dict[str, Any], tmp_path: Path) -> str:
    if template["kind"] == "sqlite":
        target = tmp_path / "panoled.sqlite3"
        shutil.copyfile(template["path"], target)
        return f"sqlite:///{target}"
    engine = create_engine(template["url"])
    with engine.begin() as connection:
        tables = [t.name for t in db.metadata.sorted_tables]
        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return template["url"]


@pytest.fixture
def settings(database_template: dict[str, Any], tmp_path: Path) -> Any:
    url = _fresh_database(database_template, tmp_path)
    return load_config(
        REPO / "config.toml",
        overrides={"database": {"url": url}, "storage": {"data_dir": str(tmp_path / "data")},
                   "organisation": {"name": "Sở Tài nguyên và Môi trường", "province": "Tỉnh Thử nghiệm"}},
    )


@pytest.fixture
def app(settings: Any) -> Iterator[Flask]:
    """The app, with no context pushed: each test-client request gets its own, as in
    production. Code that calls services directly uses the `ctx` fixture or
    `with app.app_context()`."""
    app = create_app(settings, {"TESTING": True})
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """An application context for tests that call services directly (no client requests inside)."""
    with app.app_context():
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@dataclass
class Accounts:
    """Creates people with a role and signs them in."""

    app: Flask
    client: FlaskClient

    def create(self, role: str, email: str | None = None, password: str = STRONG_PASSWORD) -> int:
        """A new account; returns its id."""
        from cms.services.accounts import NewAccount, create_user
        from cms.services.audit import Actor

        with self.app.app_context():
            user = create_user(NewAccount(email=email or f"{role}@example.org", role=role, password=password),
                               self.app.config["PANOLED"].security, Actor.command_line())
            db.session.commit()
            return user.id

    def ensure(self, role: str, email: str | None = None, password: str = STRONG_PASSWORD) -> int:
        from cms.services.accounts import find_user

        with self.app.app_context():
            user = find_user(email or f"{role}@example.org")
            if user is not None:
                return user.id
        return self.create(role, email, password)

    def login(self, role: str = "admin", email: str | None = None, password: str = STRONG_PASSWORD,
              client: FlaskClient | None = None) -> int:
        client = client or self.client
        email = email or f"{role}@example.org"
        user_id = self.ensure(role, email, password)
        page = client.get("/login")
        assert page.status_code == 200
        response = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(page)})
        assert response.status_code == 302, response.get_data(as_text=True)
        return user_id

    def token(self, role: str, email: str | None = None) -> dict[str, str]:
        from cms.models import User
        from cms.services.audit import Actor
        from cms.services.tokens import create_token

        user_id = self.ensure(role, email)
        with self.app.app_context():
            user = db.session.get(User, user_id)
            _token, plain = create_token(user, f"{role} token", Actor.of(user))
            db.session.commit()
        return {"Authorization": f"Bearer {plain}"}


@pytest.fixture
def accounts(app: Flask, client: FlaskClient) -> Accounts:
    return Accounts(app, client)


def csrf_token(response: Any) -> str:
    """The CSRF token of the first form on a page (a test client's response, or the page's HTML)."""
    import re

    page = response if isinstance(response, str) else response.get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


@pytest.fixture
def plan_text() -> bytes:
    return PLAN_FILE.read_bytes()


@pytest.fixture
def imported_plan(app: Flask, plan_text: bytes) -> Any:
    from cms.services.audit import Actor
    from cms.services.plan_import import heading_of, import_plan
    from cms.services.plan_reader import read_plan

    with app.app_context():
        document = read_plan(plan_text, PLAN_FILE.name)
        result = import_plan(document, heading_of(document), Actor.command_line(), PLAN_FILE.name)
        db.session.commit()
        return result
