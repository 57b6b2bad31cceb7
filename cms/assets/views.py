"""Media library pages: a campaign's media, uploads with progress, banners, an asset
with its renditions and LED previews, the approver's queue, and the files themselves."""
from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from cms.access import roles_required, signed_in
from cms.assets.forms import BannerForm, FitForm, ReplaceForm, StatusForm, UploadForm
from cms.errors import PanoledError
from cms.extensions import db
from cms.labels import media_status_label
from cms.models import MediaAsset
from cms.models.media import revision_of
from cms.services import media as media_service
from cms.services.audit import Actor, history
from cms.services.campaigns import get_campaign
from cms.web import commit_or_flash, translated
from media.types import BannerSpec

bp = Blueprint("assets", __name__)


def _config() -> Any:
    return current_app.config["PANOLED"]


UPLOAD_ENDPOINTS = frozenset({"assets.upload", "assets.replace", "media_api.media_upload"})


def raise_upload_limit() -> None:
    """Media uploads may be far larger than other requests. Runs before CSRF checking,
    which reads the form and would otherwise stop at the app-wide limit."""
    if request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = media_service.max_upload_bytes(_config()) + 1024 * 1024


@bp.route("/campaigns/<int:campaign_id>/media")
@signed_in
def campaign_media(campaign_id: int) -> str:
    campaign = get_campaign(campaign_id)
    return render_template("assets/campaign.html", campaign=campaign, assets=media_service.list_assets(campaign.id),
                           form=UploadForm(), limits=_config().media)


@bp.route("/campaigns/<int:campaign_id>/media/upload", methods=["POST"])
@roles_required("editor")
def upload(campaign_id: int) -> Response | tuple[Response, int]:
    """One file as the raw request body (the page's uploader, with progress), or the
    plain multipart form when JavaScript is off."""
    as_banner = request.headers.get("X-Media-Kind", request.args.get("kind", "")) == "banner"
    if request.mimetype == "multipart/form-data":
        return _upload_form(campaign_id)
    filename = unquote(request.headers.get("X-Filename", "")) or "upload"
    try:
        result = media_service.add_upload(request.stream, filename, campaign_id, Actor.of(current_user), _config(), as_banner)
    except PanoledError as error:
        db.session.rollback()
        return jsonify(ok=False, code=error.code, message=translated(error)), error.http_status
    message = _("Uploaded.") if result.created else _("This file is already in the campaign; the existing one is kept.")
    return jsonify(ok=True, id=result.asset.id, created=result.created, message=message,
                   url=url_for("assets.detail", asset_id=result.asset.id)), 201 if result.created else 200


def _upload_form(campaign_id: int) -> Response:
    form = UploadForm()
    if form.validate_on_submit():
        for item in form.files.data or []:
            ok, result = commit_or_flash(lambda: media_service.add_upload(
                item.stream, item.filename or "upload", campaign_id, Actor.of(current_user), _config(),
                form.as_banner.data == "banner"))
            if ok and result is not None:
                flash(_("%(name)s: uploaded.", name=result.asset.display_name) if result.created else
                      _("%(name)s: already in the campaign.", name=result.asset.display_name), "success")
    return redirect(url_for("assets.campaign_media", campaign_id=campaign_id))


@bp.route("/campaigns/<int:campaign_id>/media/banner", methods=["GET", "POST"])
@roles_required("editor")
def banner(campaign_id: int) -> str | Response:
    campaign = get_campaign(campaign_id)
    form = BannerForm()
    if form.validate_on_submit():
        spec = BannerSpec(title=form.title.data or "", body=form.body.data or "",
                          text_color=form.text_color.data or "", background_color=form.background_color.data or "")
        ok, result = commit_or_flash(lambda: media_service.add_banner(spec, campaign.id, Actor.of(current_user), _config()))
        if ok and result is not None:
            flash(_("Banner created; its renderings for each board are being made.") if result.created
                  else _("The same banner already exists in this campaign."), "success")
            return redirect(url_for("assets.detail", asset_id=result.asset.id))
    return render_template("assets/banner.html", campaign=campaign, form=form)


@bp.route("/media/<int:asset_id>")
@signed_in
def detail(asset_id: int) -> str:
    asset = media_service.get_asset(asset_id)
    fit = FitForm(data={"fit_mode": asset.fit_mode, "focal_x": asset.focal_x, "focal_y": asset.focal_y,
                        "background": asset.background})
    return render_template(
        "assets/detail.html", asset=asset, fit_form=fit, status_form=StatusForm(), replace_form=ReplaceForm(),
        transitions=media_service.allowed_transitions(asset, Actor.of(current_user)),
        profiles={p.key: p for p in media_service.profiles(_config())}, history=history("media", asset.id),
        revision=revision_of(asset),
    )


@bp.route("/media/<int:asset_id>/status.json")
@signed_in
def status(asset_id: int) -> Response:
    asset = media_service.get_asset(asset_id)
    return jsonify(status=asset.status, derivatives=[
        {"id": d.id, "kind": d.kind, "profile_key": d.profile_key, "state": d.state, "progress": round(d.progress, 3)}
        for d in asset.derivatives])


@bp.route("/media/<int:asset_id>/fit", methods=["POST"])
@roles_required("editor")
def fit(asset_id: int) -> Response:
    asset = media_service.get_asset(asset_id)
    form = FitForm()
    if form.validate_on_submit():
        focal_x = form.focal_x.data if form.focal_x.data is not None else asset.focal_x
        focal_y = form.focal_y.data if form.focal_y.data is not None else asset.focal_y
        ok, changed = commit_or_flash(lambda: media_service.set_fit(
            asset, form.fit_mode.data or "contain", focal_x, focal_y, form.background.data or "#000000",
            Actor.of(current_user), _config()))
        if ok:
            flash(_("Saved; the renditions are being made again and the media needs approval again.") if changed
                  else _("Nothing changed."), "success")
    else:
        flash(_("Check the fit settings."), "error")
    return redirect(url_for("assets.detail", asset_id=asset_id))


@bp.route("/media/<int:asset_id>/status", methods=["POST"])
@signed_in
def change_status(asset_id: int) -> Response:
    asset = media_service.get_asset(asset_id)
    form = StatusForm()
    if form.validate_on_submit():
        ok, _result = commit_or_flash(lambda: media_service.transition(
            asset, form.to_status.data or "", Actor.of(current_user), form.reason.data or "", form.seen.data or None))
        if ok:
            flash(_("Status changed to %(status)s.", status=media_status_label(asset.status)), "success")
    target = request.form.get("back")
    return redirect(url_for("assets.review") if target == "review" else url_for("assets.detail", asset_id=asset_id))


@bp.route("/media/<int:asset_id>/replace", methods=["POST"])
@roles_required("editor")
def replace(asset_id: int) -> Response:
    asset = media_service.get_asset(asset_id)
    form = ReplaceForm()
    if form.validate_on_submit():
        ok, _result = commit_or_flash(lambda: media_service.replace_file(
            asset, form.file.data.stream, form.file.data.filename or "upload", Actor.of(current_user), _config()))
        if ok:
            flash(_("File replaced; it needs approval again."), "success")
    return redirect(url_for("assets.detail", asset_id=asset_id))


@bp.route("/media/review")
@roles_required("approver")
def review() -> str:
    return render_template("assets/review.html", assets=media_service.list_assets(status="pending"),
                           status_form=StatusForm(), me=Actor.of(current_user), revision_of=revision_of)


@bp.route("/media/<int:asset_id>/file/<what>")
@bp.route("/media/<int:asset_id>/file/<what>/<profile_key>")
@signed_in
def file(asset_id: int, what: str, profile_key: str = "") -> Response:
    """The stored files, only through this authorised route: with ETag, Range (video
    seeking) and nosniff; never from a static folder."""
    if what not in ("original", "thumbnail", "rendition", "preview"):
        abort(404)
    asset = media_service.get_asset(asset_id)
    path = media_service.file_path(asset, _config(), what, profile_key)
    if path is None or not path.is_file():
        abort(404)
    return send_stored_file(path, _download_name(asset, what, profile_key, path.suffix))


def send_data_file(path: Path, mimetype: str, etag: bool | str, download_name: str | None = None) -> Response:
    """A file of the data folder, sent only after the caller authorised the request: by the app
    itself, or, with `storage.accel_redirect` set, by nginx through an X-Accel-Redirect to its
    internal location (nginx then answers Range requests; the app still answers 304 itself)."""
    config = _config()
    prefix = config.storage.accel_redirect
    if not prefix:
        return send_file(path, mimetype=mimetype, conditional=True, etag=etag, max_age=0, download_name=download_name)
    relative = path.resolve().relative_to(config.data_dir.resolve())  # nothing outside the data folder
    response = Response(b"", mimetype=mimetype)
    response.headers["X-Accel-Redirect"] = prefix + quote(relative.as_posix())
    if download_name:
        response.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(download_name)}"
    stat = path.stat()
    response.last_modified = stat.st_mtime
    response.set_etag(etag if isinstance(etag, str) else f"{stat.st_mtime_ns:x}-{stat.st_size:x}")
    return response.make_conditional(request)


MIMETYPES = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp", ".mp4": "video/mp4",
             ".mov": "video/quicktime", ".webm": "video/webm"}


def send_stored_file(path: Path, download_name: str, etag: bool | str = True) -> Response:
    """A stored media file with ETag (`etag` names it, e.g. the file's sha256), Range and nosniff."""
    response = send_data_file(path, MIMETYPES.get(path.suffix, "application/octet-stream"), etag,
                              download_name=download_name)
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _download_name(asset: MediaAsset, what: str, profile_key: str, suffix: str) -> str:
    stem = asset.display_name.rsplit(".", 1)[0] or "media"
    return f"{stem}{suffix}" if what == "original" else f"{stem}-{what}{'-' + profile_key if profile_key else ''}{suffix}"
