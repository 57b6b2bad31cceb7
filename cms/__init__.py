"""Panoled CMS: the Flask application factory."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from flask import Flask

from cms.config import Config, load_config, secret_key


def create_app(config: Config | None = None, test_config: dict[str, Any] | None = None) -> Flask:
    config = config or load_config()
    config.data_dir.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__, instance_path=str(config.data_dir))
    app.config.update(
        PANOLED=config,
        SECRET_KEY=secret_key(config),
        SQLALCHEMY_DATABASE_URI=config.database_url,
        SQLALCHEMY_ECHO=config.database.echo,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(config.database_url),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.web.https,
        SESSION_COOKIE_NAME="panoled_session",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=config.web.https,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=config.web.session_hours),
        PREFERRED_URL_SCHEME="https" if config.web.https else "http",
        # A plan file is at most imports.max_bytes; leave room for the form's other fields.
        MAX_CONTENT_LENGTH=config.imports.max_bytes + 1024 * 1024,
        BABEL_DEFAULT_LOCALE=config.web.default_locale,
        BABEL_DEFAULT_TIMEZONE=config.web.timezone,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        JSON_SORT_KEYS=False,
    )
    if test_config:
        app.config.update(test_config)
    if config.web.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = config.web.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    from cms import database, extensions, i18n, security, web

    database.init_app(app)
    extensions.csrf.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    web.init_app(app)
    return app


def _compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _engine_options(url: str) -> dict[str, Any]:
    # JSON columns hold compact UTF-8 text: a manifest is sent to its board as stored
    # (cms.services.board_feed.manifest_document), a third smaller than with escapes and spaces.
    # A database error never carries the statement's values into a log or a page: they may
    # hold a board's secret option, a password hash or a token's digest.
    options: dict[str, Any] = {"json_serializer": _compact_json, "hide_parameters": True}
    if url.startswith("sqlite"):
        # Wait for a writer instead of failing at once; WAL is set per connection in database.py.
        return options | {"connect_args": {"timeout": 30}}
    return options | {"pool_pre_ping": True}
