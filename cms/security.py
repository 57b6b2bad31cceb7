"""Security baseline applied to every response and request: headers, sign-in
sessions, and the deny-by-default access check."""
from __future__ import annotations

from flask import Flask, Response, has_request_context, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin

from cms.access import enforce_access
from cms.extensions import db, login_manager
from cms.models import User

CSP = "; ".join([
    "default-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "style-src 'self'",
    "script-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


class _SessionInterface(SecureCookieSessionInterface):
    """The public website sets no cookie (so shared caches may keep its pages), even for a
    visitor who is also signed in to the staff side."""

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        if has_request_context() and request.path.startswith("/public/"):
            return False
        return super().should_set_cookie(app, session)


def init_app(app: Flask) -> None:
    app.session_interface = _SessionInterface()
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    login_manager.user_loader(_load_user)
    # Flask-Login's own message is not translated; the login page explains itself.
    login_manager.login_message = ""
    app.before_request(enforce_access)
    app.after_request(_security_headers)


def _load_user(user_id: str) -> User | None:
    ident, _, generation = user_id.partition(":")
    if not ident.isdigit() or not generation.isdigit():
        return None
    user = db.session.get(User, int(ident))
    if user is None or not user.active or user.session_generation != int(generation):
        return None
    return user


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    if "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]:
        response.headers.setdefault("X-Frame-Options", "DENY")  # the website's widget alone may be framed
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    if "Cache-Control" not in response.headers and response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return response
