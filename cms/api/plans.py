"""Plan endpoints, including importing a plan file."""
from __future__ import annotations

from typing import Any

from flask import current_app, request

from cms.access import roles_required, signed_in
from cms.api import bp
from cms.api.common import actor
from cms.errors import ValidationFailed
from cms.services.plan_import import apply_import, heading_of, preview_import
from cms.services.plan_reader import read_plan
from cms.services.plans import describe_plan, get_plan, list_plans


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
    config = current_app.config["PANOLED"]
    data = upload.read(config.imports.max_bytes + 1)
    document = read_plan(data, upload.filename or "plan", max_bytes=config.imports.max_bytes)
    heading = heading_of(document, (request.form.get("number") or "").strip() or None, config.organisation.name)
    if request.form.get("dry_run", "").lower() in {"1", "true", "yes"}:
        preview = preview_import(document, heading)
        return {
            "dry_run": True, "plan_number": heading.number, "plan_exists": preview.plan_exists,
            "created": preview.count("create"), "updated": preview.count("update"),
            "unchanged": preview.count("unchanged"), "flagged": [r.number for r in preview.flagged],
            "missing_numbers": list(preview.missing_numbers),
        }, 200
    summary = apply_import(document, heading, actor(), upload.filename or "plan")
    return {"dry_run": False, **summary.as_dict()}, 200
