"""Board pages: the list, registering a board, and a board with today's timeline."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from cms.access import roles_required, signed_in
from cms.screens.forms import EditScreenForm, FallbackForm, RotateForm, ScreenForm, ScreenshotRequestForm
from cms.services.audit import Actor
from cms.services.derivatives import queue_missing
from cms.services.board_health import board_alerts, request_screenshot, screenshot_file, with_health
from cms.services.manifests import latest_manifest, on_air, push_history
from cms.services.playlists import list_playlists
from cms.services.screens import (MASKED, BoardPage, ScreenInput, board_page, create_screen, get_screen, list_screens,
                                  parse_hours, rotate_secret, screen_input, set_fallback, update_screen)
from display_adapters.options import SECRET_OPTIONS
from cms.services.timelines import describe_timeline, timeline_for
from cms.web import commit_or_flash
from display_adapters.options import KINDS

bp = Blueprint("screens", __name__, url_prefix="/screens")


@bp.route("/")
@signed_in
def index() -> str:
    page = _board_page()
    return render_template("screens/index.html", screens=list_screens(page.ids), page=page)


def _board_page() -> BoardPage:
    """The page of boards asked for by `?page=` and `?group=` (a department with a thousand boards
    reads them a hundred at a time, or one district at a time)."""
    return board_page(request.args.get("page", 1, type=int), request.args.get("group") or None)


def _options(text: str) -> dict[str, str]:
    options = {}
    for line in text.splitlines():
        key, _sep, value = line.partition("=")
        if key.strip():
            options[key.strip()] = value.strip()
    return options


def _form_input(form: ScreenForm) -> ScreenInput:
    opens_at, closes_at = parse_hours(form.hours.data or "")
    return ScreenInput(
        name=form.name.data or "", width=form.width.data or 0, height=form.height.data or 0,
        adapter_kind=form.adapter_kind.data or "", adapter_options=_options(form.adapter_options.data or ""),
        code=form.code.data or "", address=form.address.data or "", latitude=form.latitude.data,
        longitude=form.longitude.data, group_name=form.group_name.data or "",
        pixel_pitch_mm=form.pixel_pitch_mm.data or 10.0, viewing_distance_m=form.viewing_distance_m.data or 50.0,
        opens_at=opens_at, closes_at=closes_at, timezone=form.timezone.data or "")



@bp.route("/new", methods=["GET", "POST"])
@roles_required("operator")
def new() -> str | Response:
    form = ScreenForm()
    if form.validate_on_submit():
        ok, created = commit_or_flash(lambda: create_screen(_form_input(form), Actor.of(current_user)))
        if ok and created is not None:
            queue_missing(current_app.config["PANOLED"])  # a board of a new size needs renditions
            screen, secret = created
            return _detail(screen.id, new_secret=secret)
    return render_template("screens/form.html", form=form, kinds=KINDS)


@bp.route("/<int:screen_id>/edit", methods=["GET", "POST"])
@roles_required("operator")
def edit(screen_id: int) -> str | Response:
    screen = get_screen(screen_id)
    if request.method == "GET":
        data = screen_input(screen)
        form = EditScreenForm(
            data={"name": data.name, "code": data.code, "group_name": data.group_name, "address": data.address,
                  "latitude": data.latitude, "longitude": data.longitude, "width": data.width, "height": data.height,
                  "pixel_pitch_mm": data.pixel_pitch_mm, "viewing_distance_m": data.viewing_distance_m,
                  "hours": f"{data.opens_at:%H:%M}-{data.closes_at:%H:%M}", "timezone": data.timezone,
                  "adapter_kind": data.adapter_kind, "active": screen.active,
                  "adapter_options": "\n".join(f"{key}={MASKED if key in SECRET_OPTIONS else value}"
                                               for key, value in data.adapter_options.items())})
    else:
        form = EditScreenForm()
        if form.validate_on_submit():
            ok, changed = commit_or_flash(lambda: update_screen(
                screen, _form_input(form), Actor.of(current_user), active=bool(form.active.data)))
            if ok:
                if {"width", "height"} & set(changed or ()):
                    queue_missing(current_app.config["PANOLED"])  # a board of a new size needs renditions
                flash(_("The board is saved.") if changed else _("Nothing was changed."), "success")
                return redirect(url_for("screens.detail", screen_id=screen.id))
    return render_template("screens/form.html", form=form, kinds=KINDS, screen=screen)


@bp.route("/<int:screen_id>")
@signed_in
def detail(screen_id: int) -> str:
    return _detail(screen_id)


def _detail(screen_id: int, new_secret: str | None = None, fallback_form: FallbackForm | None = None) -> str:
    screen = get_screen(screen_id)
    zone = ZoneInfo(screen.timezone)
    start = datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    timeline = describe_timeline(timeline_for(screen, start, start + timedelta(days=1)), screen.timezone)
    if fallback_form is None:
        fallback_form = _fallback_form(screen.fallback_playlist_id or 0)
    status = next(iter(_on_air_with_health([screen.id])), None)
    manifest = latest_manifest(screen.id)
    return render_template("screens/detail.html", screen=screen, today=_by_rule(timeline), rotate_form=RotateForm(),
                           new_secret=new_secret, kind=KINDS.get(screen.adapter_kind), fallback_form=fallback_form,
                           status=status, manifest=manifest, pushes=push_history(screen.id, 10),
                           screenshot_form=ScreenshotRequestForm())


def _on_air_with_health(screen_ids: list[int] | None = None) -> list[dict[str, Any]]:
    """The "on air now" rows of every board, or of those named, with their health."""
    now = datetime.now(UTC)
    return with_health(on_air(now, screen_ids), current_app.config["PANOLED"].boards, now)


def _by_rule(timeline: dict[str, Any]) -> list[dict[str, Any]]:
    """Today's segments summed per rule (or per kind without one), in order of first appearance."""
    rows: dict[tuple[str, int | None], dict[str, Any]] = {}
    for segment in timeline["segments"]:
        row = rows.setdefault((segment["kind"], segment["rule_id"]), {
            "kind": segment["kind"], "rule_id": segment["rule_id"], "first": segment["start"], "seconds": 0, "plays": 0})
        row["last"] = segment["end"]
        row["seconds"] += int((datetime.fromisoformat(segment["end"]) - datetime.fromisoformat(segment["start"])).total_seconds())
        row["plays"] += sum(1 for play in segment["plays"] if not play["truncated"])
    return list(rows.values())


def _fallback_form(selected: int | None = None) -> FallbackForm:
    form = FallbackForm() if selected is None else FallbackForm(playlist_id=selected)
    form.playlist_id.choices = [(0, _("None: the board shows nothing"))] + [
        (p.id, f"{p.campaign.number or '—'} · {p.name}" + ("" if p.status == "published" else f" ({_('draft')})"))
        for p in list_playlists()]
    return form


@bp.route("/<int:screen_id>/fallback", methods=["POST"])
@roles_required("editor")
def fallback(screen_id: int) -> str | Response:
    screen = get_screen(screen_id)
    form = _fallback_form()
    if not form.validate_on_submit():
        return _detail(screen_id, fallback_form=form)
    ok, _result = commit_or_flash(lambda: set_fallback(screen, form.playlist_id.data or None, Actor.of(current_user)))
    if not ok:
        return _detail(screen_id, fallback_form=form)
    flash(_("The board's fallback playlist is saved."), "success")
    return redirect(url_for("screens.detail", screen_id=screen.id))


@bp.route("/on-air")
@signed_in
def on_air_page() -> str:
    page = _board_page()
    return render_template("screens/on_air.html", rows=_on_air_with_health(page.ids), page=page)


@bp.route("/alerts")
@signed_in
def alerts() -> str:
    settings = current_app.config["PANOLED"].boards
    return render_template("screens/alerts.html", alerts=board_alerts(settings, datetime.now(UTC)), settings=settings)


@bp.route("/<int:screen_id>/screenshot", methods=["POST"])
@roles_required("operator")
def ask_screenshot(screen_id: int) -> str | Response:
    screen = get_screen(screen_id)
    if not ScreenshotRequestForm().validate_on_submit():
        return _detail(screen_id)
    ok, _result = commit_or_flash(lambda: request_screenshot(screen, Actor.of(current_user), datetime.now(UTC)))
    if ok:
        flash(_("A screenshot is asked of the board: it comes with its next heartbeat."), "success")
    return redirect(url_for("screens.detail", screen_id=screen.id))


@bp.route("/<int:screen_id>/screenshot.png")
@signed_in
def screenshot(screen_id: int) -> Response:
    from cms.assets.views import send_stored_file

    path, _at = screenshot_file(get_screen(screen_id), current_app.config["PANOLED"])
    return send_stored_file(path, f"screenshot-{screen_id}.png")


@bp.route("/<int:screen_id>/secret", methods=["POST"])
@roles_required("operator")
def rotate(screen_id: int) -> str | Response:
    screen = get_screen(screen_id)
    if not RotateForm().validate_on_submit():
        return _detail(screen_id)
    ok, secret = commit_or_flash(lambda: rotate_secret(screen, Actor.of(current_user)))
    return _detail(screen_id, new_secret=secret if ok else None)
