"""Sign in, sign out, and the language switch."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from werkzeug.wrappers import Response

from cms.access import public, signed_in
from cms.auth.forms import LanguageForm, LoginForm
from cms.errors import InvalidCredentials, LoginThrottled
from cms.services.accounts import authenticate
from cms.web import translated

bp = Blueprint("auth", __name__)


def safe_next(target: str | None, fallback: str) -> str:
    """Only same-site paths: never redirect a user to another host after sign-in."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> str | Response:
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        policy = current_app.config["PANOLED"].security
        try:
            user = authenticate(form.email.data or "", form.password.data or "", request.remote_addr or "?", policy)
        except (InvalidCredentials, LoginThrottled) as error:
            flash(translated(error), "error")
            return render_template("auth/login.html", form=form), 401 if isinstance(error, InvalidCredentials) else 429
        lang = session.get("lang")
        session.clear()  # a fresh session on sign-in: no fixation
        if lang:
            session["lang"] = lang
        login_user(user)
        session.permanent = True
        return redirect(safe_next(form.next.data, url_for("campaigns.index")))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@signed_in
def logout() -> Response:
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
@public
def language() -> Response:
    form = LanguageForm()
    if form.validate_on_submit():
        session["lang"] = form.lang.data
    return redirect(safe_next(form.next.data, url_for("campaigns.index")))


@bp.route("/healthz")
@public
def healthz() -> dict[str, str]:
    return {"status": "ok"}
