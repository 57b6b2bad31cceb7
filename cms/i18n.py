"""Languages: Vietnamese by default, English on request; dates shown in local time."""
from __future__ import annotations

from flask import Flask, current_app, has_request_context, request, session

from cms.extensions import babel

LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}


def select_locale() -> str:
    if has_request_context() and request.path.startswith("/public/"):
        return "vi"  # the department's public website speaks Vietnamese (and sets no cookie)
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return current_app.config["PANOLED"].web.default_locale


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_locale"] = select_locale
