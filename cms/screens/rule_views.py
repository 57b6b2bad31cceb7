"""Schedule pages: every rule with what it asks and whether the boards get it, making a
rule, approving an emergency interrupt (never one's own), and deleting a rule."""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from cms.access import roles_required, signed_in
from cms.models import ScheduleRule
from cms.screens.rule_forms import WEEKDAYS_SHORT, ActionForm, RuleForm
from cms.services import rules as service
from cms.services.audit import Actor
from cms.services.playlists import list_playlists
from cms.services.screens import list_screens
from cms.web import commit_or_flash, local_today

bp = Blueprint("rules", __name__, url_prefix="/schedule")


@bp.route("/")
@signed_in
def index() -> str:
    today = local_today()
    screens = {s.id: s for s in list_screens()}
    return render_template("rules/index.html", rules=[_row(r, today) for r in service.list_rules()], screens=screens,
                           action_form=ActionForm(), weekdays=WEEKDAYS_SHORT)


def _row(rule: ScheduleRule, today: date) -> dict[str, Any]:
    """A rule and its state on the boards today: in effect, or the reason it is not."""
    date_from, date_to = service.effective_dates(rule)
    blocker = service.why_not_in_effect(rule)
    if blocker is None and date_to is not None and date_to < today:
        blocker = "ended"
    elif blocker is None and date_from is not None and date_from > today:
        blocker = "not_started"
    return {"rule": rule, "date_from": date_from, "date_to": date_to, "blocker": blocker,
            "own": rule.created_by_id == current_user.id}


@bp.route("/new", methods=["GET", "POST"])
@roles_required("editor", "operator")  # as the API: operators may put up a warning, which still needs an approver
def new() -> str | Response:
    form = _rule_form()
    if form.validate_on_submit():
        ok, rule = commit_or_flash(lambda: service.create_rule(_input_from(form), Actor.of(current_user)))
        if ok and rule is not None:
            flash(_("Rule saved. An approver must approve the interrupt before it reaches the boards.") if rule.interrupt
                  else _("Rule saved."), "success")
            return redirect(url_for("rules.index", _anchor=f"rule-{rule.id}"))
    return render_template("rules/form.html", form=form, has_playlists=bool(form.playlist_id.choices),
                           has_boards=bool(form.board_ids.choices))


def _rule_form() -> RuleForm:
    form = RuleForm()
    by_campaign: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for playlist in list_playlists():
        if playlist.status == "published":
            campaign = playlist.campaign
            heading = f"{campaign.number}. {campaign.title}" if campaign.number else campaign.title
            by_campaign[heading[:90]].append((playlist.id, playlist.name))
    form.playlist_id.choices = dict(by_campaign)  # grouped by campaign (<optgroup>)
    screens = list_screens()
    form.board_ids.choices = [(s.id, f"{s.code} · {s.name}") for s in screens]
    form.groups.choices = [(g, g) for g in sorted({s.group_name for s in screens if s.group_name})]
    if request.method == "GET" and request.args.get("playlist", "").isdigit():
        form.playlist_id.data = int(request.args["playlist"])
    return form


def _input_from(form: RuleForm) -> service.RuleInput:
    quota = form.quota.data
    share = form.share_percent.data
    return service.RuleInput(
        playlist_id=form.playlist_id.data or 0, board_ids=tuple(form.board_ids.data or ()),
        groups=tuple(form.groups.data or ()), date_from=form.date_from.data, date_to=form.date_to.data,
        weekdays=tuple(form.weekdays.data or ()), windows=service.parse_windows(form.windows.data or ""),
        priority=form.priority.data or 0,
        plays_per_hour=form.plays_per_hour.data if quota == "plays_per_hour" else None,
        share_of_voice=share / 100 if quota == "share_of_voice" and share is not None else None,
        interrupt=bool(form.interrupt.data), note=form.note.data or "",
    )


@bp.route("/<int:rule_id>/approve", methods=["POST"])
@roles_required("approver")
def approve(rule_id: int) -> Response:
    rule = service.get_rule(rule_id)
    if ActionForm().validate_on_submit():
        ok, _result = commit_or_flash(lambda: service.approve_interrupt(rule, Actor.of(current_user)))
        if ok:
            flash(_("Interrupt approved: it takes the boards in its windows."), "success")
    return redirect(url_for("rules.index", _anchor=f"rule-{rule_id}"))


@bp.route("/<int:rule_id>/delete", methods=["GET", "POST"])
@roles_required("editor")
def delete(rule_id: int) -> str | Response:
    """A page that asks first; the rule goes only on its POST."""
    rule = service.get_rule(rule_id)
    form = ActionForm()
    if form.validate_on_submit():
        ok, _result = commit_or_flash(lambda: service.delete_rule(rule, Actor.of(current_user)))
        if ok:
            flash(_("Rule %(id)d deleted; the boards stop playing it at their next update.", id=rule_id), "success")
            return redirect(url_for("rules.index"))
    return render_template("rules/delete.html", row=_row(rule, local_today()), screens={s.id: s for s in list_screens()},
                           form=form, weekdays=WEEKDAYS_SHORT)
