"""Media endpoints of the REST API.

Upload with the file as the raw body (streamed to disk, any size up to the limit):
`POST /api/v1/media?campaign_id=1&filename=Áp%20phích.png` with
`Content-Type: application/octet-stream`; or as multipart field `file`.
"""
from __future__ import annotations

from typing import Any

from flask import current_app, request

from cms.access import roles_required, signed_in
from cms.api import LARGEST_WHOLE, SMALLEST_WHOLE, actor, api_blueprint, json_body, query_whole_number, text_field
from cms.errors import ValidationFailed
from cms.extensions import db
from cms.models import ASSET_STATUSES
from cms.services import media as media_service
from media.types import BannerSpec

bp = api_blueprint("media_api", __name__)


def _config() -> Any:
    return current_app.config["PANOLED"]


def _campaign_id(value: Any) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and SMALLEST_WHOLE <= value <= LARGEST_WHOLE:
        return value
    raise ValidationFailed("campaign_id must be a campaign's id.", code="field_invalid", key="campaign_id")


@bp.post("/media")
@roles_required("editor")
def media_upload() -> tuple[dict[str, Any], int]:
    as_banner = request.args.get("kind", request.form.get("kind", "")) == "banner"
    campaign_id = _campaign_id(request.args.get("campaign_id", request.form.get("campaign_id")))
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise ValidationFailed("Send the file as the multipart field 'file' or as the raw body.", code="file_missing")
        stream, filename = upload.stream, upload.filename or "upload"
    else:
        stream, filename = request.stream, request.args.get("filename", "upload")
    result = media_service.add_upload(stream, filename, campaign_id, actor(), _config(), as_banner)
    body = media_service.describe_asset(result.asset) | {"duplicate": not result.created}
    return body, 201 if result.created else 200


@bp.post("/media/banners")
@roles_required("editor")
def media_banner() -> tuple[dict[str, Any], int]:
    body = json_body()
    spec = BannerSpec(title=text_field(body, "title", max_length=200), body=text_field(body, "body", max_length=1000),
                      text_color=text_field(body, "text_color", "#FFFFFF", 7),
                      background_color=text_field(body, "background_color", "#0F6B4A", 7))
    result = media_service.add_banner(spec, _campaign_id(body.get("campaign_id")), actor(), _config())
    db.session.commit()
    return media_service.describe_asset(result.asset) | {"duplicate": not result.created}, 201 if result.created else 200


@bp.get("/media")
@signed_in
def media_list() -> dict[str, Any]:
    status = request.args.get("status") or None
    if status is not None and status not in ASSET_STATUSES:
        raise ValidationFailed("Unknown status %(status)s.", code="status_invalid", status=status)
    campaign_id = query_whole_number("campaign_id")
    return {"media": [media_service.describe_asset(a) for a in media_service.list_assets(campaign_id, status)]}


@bp.get("/media/<int:asset_id>")
@signed_in
def media_get(asset_id: int) -> dict[str, Any]:
    asset = media_service.get_asset(asset_id)
    return media_service.describe_asset(asset) | {
        "allowed_transitions": media_service.allowed_transitions(asset, actor())}


@bp.patch("/media/<int:asset_id>")
@roles_required("editor")
def media_update(asset_id: int) -> dict[str, Any]:
    """Change the fit (mode, focal point, band colour) or the alt text."""
    asset = media_service.get_asset(asset_id)
    body = json_body()
    unknown = set(body) - {"fit_mode", "focal_x", "focal_y", "background", "alt_text"}
    if unknown:
        raise ValidationFailed("These fields cannot be set here: %(keys)s.", code="field_invalid", keys=", ".join(sorted(unknown)))
    for key in ("focal_x", "focal_y"):
        if key in body and (isinstance(body[key], bool) or not isinstance(body[key], (int, float))):
            raise ValidationFailed("%(key)s must be a number from 0 to 1.", code="field_invalid", key=key)
    if "alt_text" in body:
        media_service.set_alt_text(asset, text_field(body, "alt_text", max_length=1000), actor())
    media_service.set_fit(asset, text_field(body, "fit_mode", asset.fit_mode, 10), float(body.get("focal_x", asset.focal_x)),
                          float(body.get("focal_y", asset.focal_y)), text_field(body, "background", asset.background, 7),
                          actor(), _config())
    db.session.commit()
    return media_service.describe_asset(asset)


@bp.post("/media/<int:asset_id>/transitions")
@signed_in
def media_transition(asset_id: int) -> dict[str, Any]:
    asset = media_service.get_asset(asset_id)
    body = json_body()
    media_service.transition(asset, text_field(body, "to", max_length=20), actor(), text_field(body, "reason", max_length=2000),
                             text_field(body, "revision", max_length=64) or None)
    db.session.commit()
    return media_service.describe_asset(asset)
