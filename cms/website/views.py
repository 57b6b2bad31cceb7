"""Staff pages for the website: a campaign's posts and which of its media its public page
shows; a post with its preview, its changes and the moves its reader may make."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from cms.access import roles_required, signed_in
from cms.errors import NotFound, ValidationFailed
from cms.services import media as media_service
from cms.services import portal, website
from cms.services.audit import Actor
from cms.services.campaigns import get_campaign
from cms.services.plans import get_plan
from cms.web import commit_or_flash, flash_error
from cms.website import export
from cms.website.forms import MoveForm, PostForm, WebsiteForm

bp = Blueprint("website", __name__)


def _actor() -> Actor:
    return Actor.of(current_user)


def _eligible(campaign_id: int) -> list[Any]:
    return [a for a in media_service.list_assets(campaign_id) if a.status == "approved"]


@bp.route("/campaigns/<int:campaign_id>/website")
@signed_in
def campaign_posts(campaign_id: int, form: PostForm | None = None) -> str:
    campaign = get_campaign(campaign_id)
    media = [a for a in media_service.list_assets(campaign.id) if a.status != "archived"]
    form = form or PostForm(formdata=None)
    form.media.choices = [(a.id, a.display_name) for a in _eligible(campaign.id) if a.alt_text]
    return render_template("website/campaign.html", campaign=campaign, posts=website.list_posts(campaign.id),
                           media=media, form=form, toggle=WebsiteForm(formdata=None))


@bp.route("/campaigns/<int:campaign_id>/website/posts", methods=["POST"])
@roles_required("editor")
def create_post(campaign_id: int) -> str | Response:
    form = PostForm()
    if form.validate_on_submit():
        ok, post = commit_or_flash(lambda: website.save_post(
            None, campaign_id, form.title.data or "", form.summary.data or "", form.body.data or "",
            list(form.media.data or []), _actor()))
        if ok and post is not None:
            flash(_("Post saved as a draft. Send it for approval when it is ready."), "success")
            return redirect(url_for("website.post_page", post_id=post.id))
    return campaign_posts(campaign_id, form)


@bp.route("/website/posts/<int:post_id>")
@signed_in
def post_page(post_id: int, form: PostForm | None = None) -> str:
    post = website.get_post(post_id)
    form = form or PostForm(formdata=None, title=post.title, summary=post.summary, body=post.body,
                            media=[link.asset_id for link in post.media_links])
    form.media.choices = [(a.id, a.display_name) for a in _eligible(post.campaign_id) if a.alt_text]
    portal_kind = current_app.config["PANOLED"].publishing.kind
    state = portal.state_of(post.id, portal_kind) if portal_kind else None
    return render_template("website/post.html", post=post, campaign=post.campaign, form=form,
                           moves=website.allowed_moves(post, _actor()), move_form=MoveForm(formdata=None),
                           assets=website.post_media(post), image_set=_preview_image, portal_kind=portal_kind,
                           portal=state, portal_link=_web_address(state.remote_url if state else ""))


def _web_address(url: str) -> str:
    """The address the portal gave for the post, if it is a web page's (http or https): a link
    of any other scheme (javascript:, data:) would run in the staff's session when clicked."""
    return url if urlsplit(url.strip()).scheme.lower() in ("http", "https") else ""


def _preview_image(asset: Any) -> dict[str, str]:
    """The preview shows the staff's own thumbnails: a post's media get their public name
    only when it is published."""
    return {"src": url_for("assets.file", asset_id=asset.id, what="thumbnail"), "srcset": "", "video": ""}


@bp.route("/website/posts/<int:post_id>", methods=["POST"])
@roles_required("editor")
def save_post(post_id: int) -> str | Response:
    post = website.get_post(post_id)
    form = PostForm()
    if form.validate_on_submit():
        ok, _post = commit_or_flash(lambda: website.save_post(
            post, post.campaign_id, form.title.data or "", form.summary.data or "", form.body.data or "",
            list(form.media.data or []), _actor()))
        if ok:
            flash(_("Post saved."), "success")
            return redirect(url_for("website.post_page", post_id=post.id))
    return post_page(post_id, form)


@bp.route("/website/posts/<int:post_id>/move", methods=["POST"])
@roles_required("editor", "approver")
def move_post(post_id: int) -> Response:
    post = website.get_post(post_id)
    form = MoveForm()
    if form.validate_on_submit():
        try:
            publish_at = _local_time(form.publish_at.data or "")
        except ValidationFailed as error:
            flash_error(error)
        else:
            now = datetime.now(UTC)
            ok, _none = commit_or_flash(lambda: website.move(post, form.to.data or "", _actor(), now,
                                                             reason=form.reason.data or "", publish_at=publish_at))
            if ok:
                flash(_("Done."), "success")
    return redirect(url_for("website.post_page", post_id=post_id))


def _local_time(text: str) -> datetime | None:
    """A time typed in the department's zone (the page's datetime-local field)."""
    if not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed("Give the time as day and hour, e.g. 2024-03-23 20:00.", code="field_invalid") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=current_app.config["PANOLED"].tz)


@bp.route("/media/<int:asset_id>/website", methods=["POST"])
@roles_required("editor", "approver")
def toggle_media(asset_id: int) -> Response:
    asset = media_service.get_asset(asset_id)
    form = WebsiteForm()
    if form.validate_on_submit():
        ok, _none = commit_or_flash(lambda: website.set_web_public(asset, form.public.data == "1", _actor()))
        if ok:
            flash(_("On the website.") if asset.web_public else _("Off the website."), "success")
    return redirect(url_for("website.campaign_posts", campaign_id=asset.campaign_id))


@bp.route("/campaigns/<int:campaign_id>/website/export.zip")
@signed_in
def export_campaign(campaign_id: int) -> Response:
    """The campaign's public page as HTML and media in a zip, for a portal that takes no feed."""
    campaign = get_campaign(campaign_id)
    return _send_bundle(lambda: export.campaign_bundle(campaign.id), f"website-campaign-{campaign.id}.zip",
                        url_for("website.campaign_posts", campaign_id=campaign.id))


@bp.route("/plans/<int:plan_id>/website/export.zip")
@signed_in
def export_plan(plan_id: int) -> Response:
    """The plan's public campaigns and posts as HTML and media in a zip."""
    plan = get_plan(plan_id)
    return _send_bundle(lambda: export.plan_bundle(plan.id), f"website-plan-{plan.id}.zip",
                        url_for("plans.detail", plan_id=plan.id))


def _send_bundle(make: Any, name: str, back: str) -> Response:
    try:
        bundle = make()
    except NotFound:
        flash(_("Nothing of it is on the website yet, so there is nothing to export."), "error")
        return redirect(back)
    response = send_file(bundle.file, mimetype="application/zip", as_attachment=True, download_name=name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response
