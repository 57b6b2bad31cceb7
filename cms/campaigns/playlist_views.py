"""Playlist pages: a campaign's playlists, and one playlist with its items in order,
their durations, the loop length, and publishing once every item is approved."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from cms.access import roles_required, signed_in
from cms.campaigns.playlist_forms import ActionForm, AddItemForm, DurationForm, MoveForm, PlaylistForm
from cms.models import Playlist
from cms.models.playlists import IMAGE_SECONDS
from cms.services import media as media_service
from cms.services import playlists as service
from cms.services.audit import Actor
from cms.services.campaigns import get_campaign
from cms.web import commit_or_flash

bp = Blueprint("playlists", __name__)


@bp.app_template_filter("seconds")
def seconds_text(value: float) -> str:
    """A length as people read it: 45 s, 2 min 05 s, 1 h 02 min 05 s."""
    total = round(value)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return _("%(h)d h %(m)02d min %(s)02d s", h=hours, m=minutes, s=secs)
    if minutes:
        return _("%(m)d min %(s)02d s", m=minutes, s=secs)
    return _("%(num)s s", num=format_decimal(round(value, 2)))


@bp.route("/campaigns/<int:campaign_id>/playlists")
@signed_in
def index(campaign_id: int) -> str:
    return _index(campaign_id, PlaylistForm(formdata=None))


def _index(campaign_id: int, form: PlaylistForm) -> str:
    campaign = get_campaign(campaign_id)
    return render_template("playlists/index.html", campaign=campaign, playlists=service.list_playlists(campaign.id),
                           form=form, loop_seconds=service.loop_seconds)


@bp.route("/campaigns/<int:campaign_id>/playlists", methods=["POST"])
@roles_required("editor")
def create(campaign_id: int) -> str | Response:
    form = PlaylistForm()
    if form.validate_on_submit():
        ok, playlist = commit_or_flash(lambda: service.create_playlist(campaign_id, form.name.data or "", _actor()))
        if ok and playlist is not None:
            flash(_("Playlist created. Add the campaign's media to it."), "success")
            return redirect(url_for("playlists.detail", playlist_id=playlist.id))
    return _index(campaign_id, form)


@bp.route("/playlists/<int:playlist_id>")
@signed_in
def detail(playlist_id: int) -> str:
    playlist = service.get_playlist(playlist_id)
    in_playlist = {item.asset_id for item in playlist.items}
    candidates = [a for a in media_service.list_assets(playlist.campaign_id) if a.status != "archived"]
    candidates.sort(key=lambda a: (a.status != "approved", a.id in in_playlist, a.display_name.lower()))
    return render_template(
        "playlists/detail.html", playlist=playlist, campaign=playlist.campaign, candidates=candidates,
        in_playlist=in_playlist, loop_total=service.loop_seconds(playlist), waiting=service.unapproved_items(playlist),
        action_form=ActionForm(),
        image_seconds=IMAGE_SECONDS,
    )


@bp.route("/playlists/<int:playlist_id>/items", methods=["POST"])
@roles_required("editor")
def add_item(playlist_id: int) -> Response:
    playlist = service.get_playlist(playlist_id)
    form = AddItemForm()
    if form.validate_on_submit():
        ok, item = commit_or_flash(lambda: service.add_item(playlist, form.asset_id.data or 0, _actor()))
        if ok and item is not None:
            flash(_("%(name)s added.", name=item.asset.display_name), "success")
    return _back(playlist)


@bp.route("/playlists/<int:playlist_id>/items/<int:item_id>/remove", methods=["POST"])
@roles_required("editor")
def remove_item(playlist_id: int, item_id: int) -> Response:
    playlist = service.get_playlist(playlist_id)
    if ActionForm().validate_on_submit():
        ok, _result = commit_or_flash(lambda: service.remove_item(playlist, item_id, _actor()))
        if ok:
            flash(_("Item removed."), "success")
    return _back(playlist)


@bp.route("/playlists/<int:playlist_id>/items/<int:item_id>/move", methods=["POST"])
@roles_required("editor")
def move_item(playlist_id: int, item_id: int) -> Response:
    playlist = service.get_playlist(playlist_id)
    form = MoveForm()
    if form.validate_on_submit():
        step = -1 if form.direction.data == "up" else 1
        commit_or_flash(lambda: service.move_item(playlist, item_id, step, _actor()))
    return _back(playlist)


@bp.route("/playlists/<int:playlist_id>/items/<int:item_id>/duration", methods=["POST"])
@roles_required("editor")
def set_duration(playlist_id: int, item_id: int) -> Response:
    playlist = service.get_playlist(playlist_id)
    form = DurationForm()
    if form.validate_on_submit():
        ok, changed = commit_or_flash(lambda: service.set_duration(playlist, item_id, form.seconds.data, _actor()))
        if ok:
            flash(_("Duration saved.") if changed else _("Nothing changed."), "success")
    else:
        flash(_("Write the duration in seconds, e.g. 12 or 7.5; leave it empty for the item's own length."), "error")
    return _back(playlist)


@bp.route("/playlists/<int:playlist_id>/publish", methods=["POST"])
@roles_required("editor")
def publish(playlist_id: int) -> Response:
    playlist = service.get_playlist(playlist_id)
    if ActionForm().validate_on_submit():
        ok, _result = commit_or_flash(lambda: service.publish(playlist, _actor()))
        if ok:
            flash(_("Published: the boards whose schedule rules use this playlist will play it."), "success")
    return _back(playlist)


def _actor() -> Actor:
    return Actor.of(current_user)


def _back(playlist: Playlist) -> Response:
    return redirect(url_for("playlists.detail", playlist_id=playlist.id))
