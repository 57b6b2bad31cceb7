"""Board pages: the list, registering a board, and a board with today's timeline."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template
from flask_login import current_user
from werkzeug.wrappers import Response

from cms.access import roles_required, signed_in
from cms.screens.forms import RotateForm, ScreenForm
from cms.services.audit import Actor
from cms.services.screens import ScreenInput, create_screen, get_screen, list_screens, parse_hours, rotate_secret
from cms.services.timelines import describe_timeline, timeline_for
from cms.web import commit_or_flash
from display_adapters.options import KINDS

bp = Blueprint("screens", __name__, url_prefix="/screens")


@bp.route("/")
@signed_in
def index() -> str:
    return render_template("screens/index.html", screens=list_screens())


def _options(text: str) -> dict[str, str]:
    options = {}
    for line in text.splitlines():
        key, _sep, value = line.partition("=")
        if key.strip():
            options[key.strip()] = value.strip()
    return options


@bp.route("/new", methods=["GET", "POST"])
@roles_required("operator")
def new() -> str | Response:
    form = ScreenForm()
    if form.validate_on_submit():
        def create():  # type: ignore[no-untyped-def]
            opens_at, closes_at = parse_hours(form.hours.data or "")
            screen, secret = create_screen(ScreenInput(
                name=form.name.data or "", width=form.width.data or 0, height=form.height.data or 0,
                adapter_kind=form.adapter_kind.data or "", adapter_options=_options(form.adapter_options.data or ""),
                code=form.code.data or "", address=form.address.data or "", latitude=form.latitude.data,
                longitude=form.longitude.data, group_name=form.group_name.data or "",
                pixel_pitch_mm=form.pixel_pitch_mm.data or 10.0, viewing_distance_m=form.viewing_distance_m.data or 50.0,
                opens_at=opens_at, closes_at=closes_at, timezone=form.timezone.data or "",
            ), Actor.of(current_user))
            return screen, secret

        ok, created = commit_or_flash(create)
        if ok and created is not None:
            from cms.services.derivatives import queue_missing

            queue_missing(current_app.config["PANOLED"])
            screen, secret = created
            return _detail(screen.id, new_secret=secret)
    return render_template("screens/form.html", form=form, kinds=KINDS)


@bp.route("/<int:screen_id>")
@signed_in
def detail(screen_id: int) -> str:
    return _detail(screen_id)


def _detail(screen_id: int, new_secret: str | None = None) -> str:
    screen = get_screen(screen_id)
    zone = ZoneInfo(screen.timezone)
    start = datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    timeline = describe_timeline(timeline_for(screen, start, start + timedelta(days=1)), screen.timezone)
    return render_template("screens/detail.html", screen=screen, timeline=timeline, rotate_form=RotateForm(),
                           new_secret=new_secret, kind=KINDS.get(screen.adapter_kind))


@bp.route("/<int:screen_id>/secret", methods=["POST"])
@roles_required("operator")
def rotate(screen_id: int) -> str | Response:
    screen = get_screen(screen_id)
    if not RotateForm().validate_on_submit():
        return _detail(screen_id)
    ok, secret = commit_or_flash(lambda: rotate_secret(screen, Actor.of(current_user)))
    return _detail(screen_id, new_secret=secret if ok else None)
