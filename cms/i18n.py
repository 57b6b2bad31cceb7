"""Languages: Vietnamese by default, English on request; dates shown in local time."""
from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import get_translations

from cms.extensions import babel

LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}


def select_locale() -> str:
    if has_request_context() and request.path.startswith("/public/"):
        return "vi"  # the department's public website speaks Vietnamese (and sets no cookie)
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return current_app.config["PANOLED"].web.default_locale


def translations() -> Any:
    """The catalogue of the language in force, for the templates' `_()`.

    Flask-Babel looks the catalogue up afresh at every call (about 10 µs, and a page of a
    thousand boards makes thousands of calls); this keeps it in the request's slot that
    Flask-Babel's force_locale() and refresh() clear and restore, so a page rendered in
    another language (the website export) still gets that language's text."""
    context = g.get("_flask_babel") if g else None
    if context is None:
        return get_translations()  # the first call of a request makes Flask-Babel's context
    found = getattr(context, "babel_translations", None)
    if found is None:
        found = context.babel_translations = get_translations()
    return found


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.install_gettext_callables(  # as Flask-Babel's own, with the catalogue kept
        gettext=lambda text: translations().ugettext(text),
        ngettext=lambda one, many, n: translations().ungettext(one, many, n),
        pgettext=lambda where, text: translations().upgettext(where, text),
        npgettext=lambda where, one, many, n: translations().unpgettext(where, one, many, n),
        newstyle=True,
    )
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_locale"] = select_locale
