"""Administration: accounts and roles, and the audit log."""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user
from werkzeug.wrappers import Response

from cms.access import roles_required
from cms.admin.forms import EditUserForm, NewUserForm, ResetPasswordForm
from cms.config import ROLES
from cms.extensions import db
from cms.models import User
from cms.labels import role_label
from cms.services import audit, tokens
from cms.services.accounts import NewAccount, create_user, generate_password, get_user, list_users, set_active, set_password, set_role
from cms.services.audit import Actor
from cms.web import commit_or_flash

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _role_choices() -> list[tuple[str, str]]:
    return [(r, role_label(r)) for r in ROLES]


@bp.route("/users", methods=["GET", "POST"])
@roles_required("admin")
def users() -> str:
    form = NewUserForm()
    form.role.choices = _role_choices()
    created = None
    if form.validate_on_submit():
        password = generate_password()
        account = NewAccount(email=form.email.data or "", role=form.role.data or "", password=password,
                             display_name=form.display_name.data or "")
        ok, user = commit_or_flash(lambda: create_user(account, current_app.config["PANOLED"].security, Actor.of(current_user)))
        if ok:
            created = (user, password)
            form = NewUserForm(formdata=None)
            form.role.choices = _role_choices()
    return render_template("admin/users.html", users=list_users(), form=form, created=created)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required("admin")
def user(user_id: int) -> str | Response:
    account = get_user(user_id)
    form = EditUserForm(obj=account if request.method == "GET" else None)
    form.role.choices = _role_choices()
    if form.validate_on_submit():
        actor = Actor.of(current_user)

        def save() -> None:
            set_role(account, form.role.data or "", actor)
            set_active(account, bool(form.active.data), actor)

        ok, _result = commit_or_flash(save)
        if ok:
            flash(_("Saved."), "success")
            return redirect(url_for("admin.user", user_id=user_id))
    return _user_page(account, form)


def _user_page(account: User, form: EditUserForm | None = None, **extra: object) -> str:
    if form is None:
        form = EditUserForm(obj=account)
        form.role.choices = _role_choices()
    return render_template("admin/user.html", account=account, form=form, reset_form=ResetPasswordForm(),
                           revoke_form=ResetPasswordForm(), history=audit.history("user", account.id),
                           tokens=sorted(account.tokens, key=lambda t: t.created_at, reverse=True), **extra)


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@roles_required("admin")
def reset_password(user_id: int) -> str | Response:
    account = get_user(user_id)
    if not ResetPasswordForm().validate_on_submit():
        return redirect(url_for("admin.user", user_id=user_id))
    password = generate_password()
    set_password(account, password, current_app.config["PANOLED"].security, Actor.of(current_user))
    db.session.commit()
    if account.id == current_user.id:
        login_user(account)  # an admin resetting their own password stays signed in here
    return _user_page(account, new_password=password)


@bp.route("/users/<int:user_id>/tokens/<int:token_id>/revoke", methods=["POST"])
@roles_required("admin")
def revoke_token(user_id: int, token_id: int) -> Response:
    account = get_user(user_id)
    if ResetPasswordForm().validate_on_submit():
        ok, _token = commit_or_flash(lambda: tokens.revoke_token(token_id, account, Actor.of(current_user)))
        if ok:
            flash(_("Token revoked."), "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/audit")
@roles_required("admin", "auditor")
def audit_log() -> str:
    page = max(request.args.get("page", 1, type=int), 1)
    return render_template("admin/audit.html", events=audit.recent(limit=100, offset=(page - 1) * 100), page=page)


@bp.app_template_filter("details_text")
def details_text(details: dict[str, Any]) -> str:
    """An audit event's details as the auditor reads them: JSON with its words (Vietnamese, "<",
    quotes) as they were written; the template escapes it like any other text."""
    return json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)
