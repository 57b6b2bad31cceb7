"""Plans: the list, and importing a plan file with a preview before anything is written."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from cms.access import roles_required, signed_in
from cms.errors import PanoledError
from cms.plans.forms import PlanConfirmForm, PlanUploadForm
from cms.services import import_staging
from cms.services.audit import Actor
from cms.services.plan_import import apply_import, heading_of, preview_import
from cms.services.plan_reader import read_plan
from cms.services.plans import get_plan, list_plans
from cms.web import flash_error

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


def _read(data: bytes, filename: str, number: str):  # type: ignore[no-untyped-def]
    config = current_app.config["PANOLED"]
    document = read_plan(data, filename, max_bytes=config.imports.max_bytes)
    return document, heading_of(document, number or None, config.organisation.name)


@bp.route("/import", methods=["GET", "POST"])
@roles_required("editor")
def upload() -> str | Response:
    form = PlanUploadForm()
    if form.validate_on_submit():
        upload_file = form.file.data
        data = upload_file.read(current_app.config["PANOLED"].imports.max_bytes + 1)
        filename = upload_file.filename or "plan"
        try:
            document, heading = _read(data, filename, (form.number.data or "").strip())
            preview = preview_import(document, heading)
        except PanoledError as error:
            flash_error(error)
            return render_template("plans/upload.html", form=form), 422
        token = import_staging.stage(current_app.config["PANOLED"].data_dir, data)
        _discard_staged()
        session[SESSION_KEY] = {"token": token, "filename": filename, "number": (form.number.data or "").strip()}
        return render_template("plans/preview.html", preview=preview, filename=filename,
                               confirm=PlanConfirmForm(token=token), document=document)
    return render_template("plans/upload.html", form=form)


@bp.route("/import/confirm", methods=["POST"])
@roles_required("editor")
def confirm() -> Response:
    form = PlanConfirmForm()
    staged = session.get(SESSION_KEY) or {}
    data_dir = current_app.config["PANOLED"].data_dir
    data = import_staging.read(data_dir, staged.get("token", "")) if form.validate_on_submit() else None
    if data is None or form.token.data != staged.get("token"):
        flash(_("This preview has expired. Upload the file again."), "error")
        return redirect(url_for("plans.upload"))
    try:
        document, heading = _read(data, staged["filename"], staged.get("number", ""))
        summary = apply_import(document, heading, Actor.of(current_user), staged["filename"])
    except PanoledError as error:
        flash_error(error)
        return redirect(url_for("plans.upload"))
    finally:
        _discard_staged()
    flash(_("Plan %(number)s imported: %(created)d created, %(updated)d updated, %(unchanged)d unchanged, %(flagged)d to check.",
            number=summary.plan_number, created=summary.created, updated=summary.updated,
            unchanged=summary.unchanged, flagged=len(summary.flagged)), "success")
    return redirect(url_for("campaigns.index", plan=summary.plan_id))


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
