"""A person's own account: change password, create and revoke API tokens."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user
from werkzeug.wrappers import Response

from cms.access import signed_in
from cms.account.forms import PasswordForm, RevokeForm, TokenForm
from cms.services.accounts import change_password
from cms.services.audit import Actor
from cms.services.tokens import create_token, revoke_token
from cms.web import commit_or_flash

bp = Blueprint("account", __name__, url_prefix="/account")


def _page(**extra: object) -> str:
    return render_template(
        "account/index.html", password_form=extra.pop("password_form", PasswordForm()),
        token_form=extra.pop("token_form", TokenForm()), revoke_form=RevokeForm(),
        tokens=sorted(current_user.tokens, key=lambda t: t.created_at, reverse=True), **extra,
    )


@bp.route("/")
@signed_in
def index() -> str:
    return _page()


@bp.route("/password", methods=["POST"])
@signed_in
def password() -> str | Response:
    form = PasswordForm()
    if form.validate_on_submit():
        policy = current_app.config["PANOLED"].security
        ok, _result = commit_or_flash(lambda: change_password(current_user, form.current.data or "", form.new.data or "", policy))
        if ok:
            # Keep this session (every other one is now signed out). The user itself, not the
            # current_user proxy: stored as the request's user, the proxy would resolve to itself.
            login_user(current_user._get_current_object())
            flash(_("Password changed. Other sessions were signed out."), "success")
            return redirect(url_for("account.index"))
    return _page(password_form=form)


@bp.route("/tokens", methods=["POST"])
@signed_in
def new_token() -> str | Response:
    form = TokenForm()
    if form.validate_on_submit():
        ok, created = commit_or_flash(lambda: create_token(current_user, form.name.data or "", Actor.of(current_user)))
        if ok and created is not None:
            return _page(new_token=created[1])
    return _page(token_form=form)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@signed_in
def revoke(token_id: int) -> Response:
    if RevokeForm().validate_on_submit():
        ok, _token = commit_or_flash(lambda: revoke_token(token_id, current_user, Actor.of(current_user)))
        if ok:
            flash(_("Token revoked."), "success")
    return redirect(url_for("account.index"))
