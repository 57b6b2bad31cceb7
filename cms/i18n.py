"""Languages: Vietnamese by default, English on request; dates shown in local time."""
from __future__ import annotations

from flask import Flask, current_app, session

from cms.extensions import babel

LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}


def select_locale() -> str:
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return current_app.config["PANOLED"].web.default_locale


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_locale"] = select_locale
