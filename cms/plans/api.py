"""Plan endpoints of the REST API, including importing a plan file."""
from __future__ import annotations

from typing import Any

from flask import current_app, request

from cms.access import roles_required, signed_in
from cms.api import actor, api_blueprint
from cms.errors import ValidationFailed
from cms.extensions import db
from cms.services.plan_import import import_plan, read_plan_file
from cms.services.plans import describe_plan, get_plan, list_plans

bp = api_blueprint("plans_api", __name__)


@bp.get("/plans")
@signed_in
def plan_list() -> dict[str, Any]:
    return {"plans": [describe_plan(p) for p in list_plans()]}


@bp.get("/plans/<int:plan_id>")
@signed_in
def plan_get(plan_id: int) -> dict[str, Any]:
    return describe_plan(get_plan(plan_id))


@bp.post("/plans/import")
@roles_required("editor")
def plan_import() -> tuple[dict[str, Any], int]:
    """multipart/form-data with `file`, optional `number`, and `dry_run=true` for a preview."""
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed("Send the plan as the multipart field 'file'.", code="file_missing")
    document, heading = read_plan_file(upload.read(current_app.config["PANOLED"].imports.max_bytes + 1),
                                       upload.filename or "plan", (request.form.get("number") or "").strip() or None,
                                       current_app.config["PANOLED"])
    dry_run = request.form.get("dry_run", "").lower() in {"1", "true", "yes"}
    result = import_plan(document, heading, actor(), upload.filename or "plan", dry_run=dry_run)
    db.session.commit()
    return result.as_dict(), 200
