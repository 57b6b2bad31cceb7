"""The plan's campaigns: table, timeline, detail with history, create and edit, status changes."""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from cms.access import roles_required, signed_in
from cms.campaigns.forms import CampaignForm, TransitionForm
from cms.labels import channel_label, status_label
from cms.models import CAMPAIGN_STATUSES, Campaign
from cms.services import plans as plan_service
from cms.services.audit import Actor, history
from cms.services.campaigns import (
    CampaignFilter, CampaignInput, allowed_transitions, create_campaign, get_campaign, list_campaigns,
    transition, update_campaign,
)
from cms.services.channels import CHANNELS
from cms.services.units import list_lead_units, list_units, sort_key
from cms.web import commit_or_flash, local_today

bp = Blueprint("campaigns", __name__)


def _filters() -> CampaignFilter:
    def as_int(name: str) -> int | None:
        value = request.args.get(name, "")
        return int(value) if value.isdigit() else None

    status = request.args.get("status") or None
    channel = request.args.get("channel") or None
    return CampaignFilter(
        plan_id=as_int("plan"), lead_unit_id=as_int("unit"),
        status=status if status in CAMPAIGN_STATUSES else None,
        channel=channel if channel in CHANNELS else None,
        text=request.args.get("q", "")[:200],
    )


@bp.route("/")
@signed_in
def index() -> str:
    filters = _filters()
    return render_template(
        "campaigns/index.html", campaigns=list_campaigns(filters), filters=filters,
        plans=plan_service.list_plans(), units=list_lead_units(), statuses=CAMPAIGN_STATUSES, channels=CHANNELS,
    )


@bp.route("/campaigns/timeline")
@signed_in
def timeline() -> str:
    filters = _filters()
    campaigns = list_campaigns(filters)
    this_year = local_today().year
    years = sorted({y for c in campaigns for y in _years(c)}) or [this_year]
    year = request.args.get("year", type=int)
    year = year if year in years else _default_year(filters.plan_id, years, this_year)
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    undated = []
    for campaign in campaigns:
        bar = _bar(campaign, year)
        if bar is None:
            if not campaign.period_start and not campaign.period_end:
                undated.append(campaign)
            continue
        groups[campaign.lead_unit.name if campaign.lead_unit else _("No lead unit")].append(bar)
    return render_template(
        "campaigns/timeline.html", groups=sorted(groups.items(), key=lambda item: sort_key(item[0])), undated=undated, year=year, years=years,
        filters=filters, plans=plan_service.list_plans(),
    )


def _years(campaign: Campaign) -> set[int]:
    start, end = campaign.period_start or campaign.period_end, campaign.period_end or campaign.period_start
    return set(range(start.year, end.year + 1)) if start and end else set()


def _default_year(plan_id: int | None, years: list[int], this_year: int) -> int:
    plan = plan_service.get_plan(plan_id) if plan_id else None
    if plan is not None and plan.year in years:
        return plan.year
    return this_year if this_year in years else years[-1]


def _bar(campaign: Campaign, year: int) -> dict[str, Any] | None:
    """Month columns the campaign covers in `year` (1-based start, span), clamped to the year."""
    start, end = campaign.period_start or campaign.period_end, campaign.period_end or campaign.period_start
    if start is None or end is None or start.year > year or end.year < year:
        return None
    first = start.month if start.year == year else 1
    last = end.month if end.year == year else 12
    return {"campaign": campaign, "start": first, "span": last - first + 1, "open_start": campaign.period_start is None}


@bp.route("/campaigns/<int:campaign_id>")
@signed_in
def detail(campaign_id: int) -> str:
    campaign = get_campaign(campaign_id)
    form = TransitionForm()
    form.to_status.choices = [(s, status_label(s)) for s in allowed_transitions(campaign, current_user.role)]
    return render_template("campaigns/detail.html", campaign=campaign, form=form, history=history("campaign", campaign.id))


@bp.route("/campaigns/<int:campaign_id>/status", methods=["POST"])
@signed_in
def change_status(campaign_id: int) -> Response:
    campaign = get_campaign(campaign_id)
    form = TransitionForm()
    form.to_status.choices = [(s, s) for s in CAMPAIGN_STATUSES]
    if form.validate_on_submit():
        ok, _result = commit_or_flash(
            lambda: transition(campaign, form.to_status.data or "", Actor.of(current_user), form.note.data or ""))
        if ok:
            flash(_("Status changed to %(status)s.", status=status_label(campaign.status)), "success")
    return redirect(url_for("campaigns.detail", campaign_id=campaign_id))


def _campaign_form(campaign: Campaign | None = None) -> CampaignForm:
    form = CampaignForm()
    form.plan_id.choices = [(0, _("— not in a plan —"))] + [(p.id, p.number) for p in plan_service.list_plans()]
    form.channels.choices = [(c, channel_label(c)) for c in CHANNELS]
    if campaign is not None and request.method == "GET":
        form.title.data = campaign.title
        form.plan_id.data = campaign.plan_id or 0
        form.number.data = campaign.number
        form.lead_unit.data = campaign.lead_unit.name if campaign.lead_unit else ""
        form.partner_units.data = "\n".join(u.name for u in campaign.partner_units)
        form.form_text.data = campaign.form_text
        form.channels.data = list(campaign.channels)
        form.period_text.data = campaign.period_text
        form.period_start.data = campaign.period_start
        form.period_end.data = campaign.period_end
        form.description.data = campaign.description
    return form


def _input_from(form: CampaignForm) -> CampaignInput:
    return CampaignInput(
        title=form.title.data or "", plan_id=form.plan_id.data or None, number=form.number.data,
        lead_unit=form.lead_unit.data or "",
        partner_units=tuple(line for line in (form.partner_units.data or "").splitlines() if line.strip()),
        form_text=form.form_text.data or "", channels=tuple(form.channels.data or ()),
        period_text=form.period_text.data or "", period_start=form.period_start.data, period_end=form.period_end.data,
        description=form.description.data or "",
    )


@bp.route("/campaigns/new", methods=["GET", "POST"])
@roles_required("editor")
def new() -> str | Response:
    form = _campaign_form()
    if request.method == "GET" and request.args.get("plan", "").isdigit():
        form.plan_id.data = int(request.args["plan"])
    if form.validate_on_submit():
        ok, campaign = commit_or_flash(lambda: create_campaign(_input_from(form), Actor.of(current_user)))
        if ok and campaign is not None:
            flash(_("Campaign created."), "success")
            return redirect(url_for("campaigns.detail", campaign_id=campaign.id))
    return render_template("campaigns/form.html", form=form, campaign=None, units=list_units())


@bp.route("/campaigns/<int:campaign_id>/edit", methods=["GET", "POST"])
@roles_required("editor")
def edit(campaign_id: int) -> str | Response:
    campaign = get_campaign(campaign_id)
    form = _campaign_form(campaign)
    if form.validate_on_submit():
        ok, changes = commit_or_flash(lambda: update_campaign(campaign, _input_from(form), Actor.of(current_user)))
        if ok:
            flash(_("Saved.") if changes else _("Nothing changed."), "success")
            return redirect(url_for("campaigns.detail", campaign_id=campaign.id))
    return render_template("campaigns/form.html", form=form, campaign=campaign, units=list_units())
