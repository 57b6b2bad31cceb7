"""Plans: the list, and importing a plan file with a preview before anything is written."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from cms.access import roles_required, signed_in
from cms.plans.forms import PlanConfirmForm, PlanUploadForm
from cms.services import import_staging
from cms.services.audit import Actor
from cms.services.plan_import import ImportResult, import_plan, read_plan_file
from cms.services.plans import get_plan, list_plans
from cms.web import commit_or_flash

bp = Blueprint("plans", __name__, url_prefix="/plans")
SESSION_KEY = "plan_import"


@bp.route("/")
@signed_in
def index() -> str:
    return render_template("plans/index.html", plans=list_plans())


@bp.route("/<int:plan_id>")
@signed_in
def detail(plan_id: int) -> str:
    return render_template("plans/detail.html", plan=get_plan(plan_id))


def _import(data: bytes, filename: str, number: str, dry_run: bool) -> ImportResult:
    config = current_app.config["PANOLED"]
    document, heading = read_plan_file(data, filename, number or None, config)
    return import_plan(document, heading, Actor.of(current_user), filename, dry_run=dry_run)


@bp.route("/import", methods=["GET", "POST"])
@roles_required("editor")
def upload() -> str | Response | tuple[str, int]:
    form = PlanUploadForm()
    if form.validate_on_submit():
        data = form.file.data.read(current_app.config["PANOLED"].imports.max_bytes + 1)
        filename, number = form.file.data.filename or "plan", (form.number.data or "").strip()
        ok, preview = commit_or_flash(lambda: _import(data, filename, number, dry_run=True))
        if not ok or preview is None:
            return render_template("plans/upload.html", form=form), 422
        _discard_staged()
        token = import_staging.stage(current_app.config["PANOLED"].data_dir, data)
        session[SESSION_KEY] = {"token": token, "filename": filename, "number": number}
        return render_template("plans/preview.html", preview=preview, filename=filename, confirm=PlanConfirmForm(token=token))
    return render_template("plans/upload.html", form=form)


@bp.route("/import/confirm", methods=["POST"])
@roles_required("editor")
def confirm() -> Response:
    form = PlanConfirmForm()
    staged = session.get(SESSION_KEY) or {}
    data = import_staging.read(current_app.config["PANOLED"].data_dir, staged.get("token", "")) if form.validate_on_submit() else None
    if data is None or form.token.data != staged.get("token"):
        flash(_("This preview has expired. Upload the file again."), "error")
        return redirect(url_for("plans.upload"))
    ok, result = commit_or_flash(lambda: _import(data, staged["filename"], staged.get("number", ""), dry_run=False))
    _discard_staged()
    if not ok or result is None:
        return redirect(url_for("plans.upload"))
    flash(_("Plan %(number)s imported: %(created)d created, %(updated)d updated, %(unchanged)d unchanged, %(flagged)d to check.",
            number=result.heading.number, created=result.count("create"), updated=result.count("update"),
            unchanged=result.count("unchanged"), flagged=len(result.flagged)), "success")
    return redirect(url_for("campaigns.index", plan=result.plan_id))


@bp.route("/import/cancel", methods=["POST"])
@roles_required("editor")
def cancel() -> Response:
    if PlanConfirmForm().validate_on_submit():
        _discard_staged()
        flash(_("Import cancelled; nothing was written."), "info")
    return redirect(url_for("plans.upload"))


def _discard_staged() -> None:
    staged = session.pop(SESSION_KEY, None)
    if staged:
        import_staging.discard(current_app.config["PANOLED"].data_dir, staged.get("token", ""))
