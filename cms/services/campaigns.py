"""Campaigns: create, edit, move through their statuses, and describe them.

Every change is recorded in the audit log with who and when; the campaign's
history page reads it back.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from cms.errors import NotFound, TransitionNotAllowed, ValidationFailed
from cms.extensions import db
from cms.models import CAMPAIGN_STATUSES, Campaign, CampaignPartner, Plan
from cms.services.audit import Actor, record
from cms.services.channels import CHANNELS, derive_channels
from cms.services.periods import parse_period
from cms.services.units import clean_text, unit_for, unit_key

# (from, to) -> roles besides admin that may make the move. Forward along the
# life of a campaign, plus sending a planned campaign back to draft (listed last,
# so the forward step is what a status form offers first).
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    ("draft", "planned"): frozenset({"editor"}),
    ("planned", "approved"): frozenset({"approver"}),
    ("approved", "running"): frozenset({"editor", "operator"}),
    ("running", "done"): frozenset({"editor", "operator"}),
    ("done", "accepted"): frozenset({"approver"}),
    ("planned", "draft"): frozenset({"editor", "approver"}),
}


@dataclass(frozen=True)
class CampaignInput:
    """What a person or the importer gives for a campaign.

    Channels and dates follow the text unless a person chose them:
    - channels None, or the same list the campaign already had by derivation:
      derived from form_text; any other list is a person's choice and sticks;
    - dates both None: read from period_text; the campaign's own dates with a
      changed phrase: read from the new phrase; other dates: a person's choice.
    description None keeps the campaign's description (the importer has none).
    """

    title: str
    lead_unit: str = ""
    partner_units: tuple[str, ...] = ()
    form_text: str = ""
    channels: tuple[str, ...] | None = None
    period_text: str = ""
    period_start: date | None = None
    period_end: date | None = None
    description: str | None = ""
    number: int | None = None
    plan_id: int | None = None


@dataclass(frozen=True)
class CampaignFilter:
    plan_id: int | None = None
    status: str | None = None
    lead_unit_id: int | None = None
    channel: str | None = None
    text: str = ""


def list_campaigns(filters: CampaignFilter | None = None) -> list[Campaign]:
    filters = filters or CampaignFilter()
    query = select(Campaign).options(
        selectinload(Campaign.lead_unit), selectinload(Campaign.partner_links).selectinload(CampaignPartner.unit),
        selectinload(Campaign.plan),
    )
    if filters.plan_id is not None:
        query = query.where(Campaign.plan_id == filters.plan_id)
    if filters.status:
        query = query.where(Campaign.status == filters.status)
    if filters.lead_unit_id is not None:
        query = query.where(Campaign.lead_unit_id == filters.lead_unit_id)
    order = (Campaign.plan_id.desc().nulls_last(), Campaign.number.asc().nulls_last(), Campaign.id)
    campaigns = list(db.session.scalars(query.order_by(*order)))
    if filters.channel:
        campaigns = [c for c in campaigns if filters.channel in c.channels]
    if filters.text:
        needle = clean_text(filters.text).casefold()
        campaigns = [c for c in campaigns if needle in c.title.casefold()]
    return campaigns


def get_campaign(campaign_id: int) -> Campaign:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("No campaign with id %(id)s.", code="campaign_not_found", id=campaign_id)
    return campaign


def create_campaign(data: CampaignInput, actor: Actor, status: str = "draft") -> Campaign:
    campaign = Campaign(status=status, plan_id=data.plan_id, number=data.number)
    _check_number_free(data.plan_id, data.number, None)
    _apply(campaign, data)
    db.session.add(campaign)
    db.session.flush()
    record(actor, "campaign.create", "campaign", campaign.id, title=campaign.title, status=status)
    return campaign


def update_campaign(campaign: Campaign, data: CampaignInput, actor: Actor, action: str = "campaign.edit") -> dict[str, Any]:
    """Apply `data`; returns and records what changed as {field: [before, after]}."""
    _check_number_free(data.plan_id, data.number, campaign.id)
    before = describe(campaign)
    campaign.number, campaign.plan_id = data.number, data.plan_id
    _apply(campaign, data)
    db.session.flush()
    after = describe(campaign)
    changes = {key: [before[key], after[key]] for key in EDITABLE_KEYS if before[key] != after[key]}
    if before["plan_id"] != campaign.plan_id:  # moved to another plan (or out of one)
        changes["plan_number"] = [_plan_number(before["plan_id"]), _plan_number(campaign.plan_id)]
    if changes:
        record(actor, action, "campaign", campaign.id, changes=changes)
    return changes


def _plan_number(plan_id: int | None) -> str | None:
    """The plan's number as people know it (81/KH-STNMT); None outside any plan."""
    plan = db.session.get(Plan, plan_id) if plan_id is not None else None
    return plan.number if plan is not None else None


EDITABLE_KEYS = (
    "number", "title", "lead_unit", "partner_units", "form_text", "channels",
    "period_text", "period_start", "period_end", "period_flagged", "description",
)


def allowed_transitions(campaign: Campaign, role: str) -> list[str]:
    return [to for (frm, to), roles in TRANSITIONS.items() if frm == campaign.status and (role == "admin" or role in roles)]


def transition(campaign: Campaign, to_status: str, actor: Actor, note: str = "") -> None:
    if to_status not in CAMPAIGN_STATUSES:
        raise ValidationFailed("Unknown status %(status)s.", code="status_invalid", status=to_status)
    roles = TRANSITIONS.get((campaign.status, to_status))
    if roles is None:
        raise TransitionNotAllowed(
            "A campaign cannot go from %(from)s to %(to)s.", **{"from": campaign.status, "to": to_status}
        )
    if actor.role != "admin" and actor.role not in roles:
        raise TransitionNotAllowed(
            "Your role cannot move a campaign from %(from)s to %(to)s.", code="transition_forbidden",
            **{"from": campaign.status, "to": to_status},
        )
    record(actor, "campaign.status", "campaign", campaign.id, before=campaign.status, after=to_status, note=note.strip()[:1000])
    campaign.status = to_status


def describe(campaign: Campaign) -> dict[str, Any]:
    """The campaign as the API and `--json` show it (snake_case domain words)."""
    return {
        "id": campaign.id,
        "plan_id": campaign.plan_id,
        "plan_number": campaign.plan.number if campaign.plan else None,
        "number": campaign.number,
        "title": campaign.title,
        "lead_unit": campaign.lead_unit.name if campaign.lead_unit else None,
        "partner_units": [unit.name for unit in campaign.partner_units],
        "form_text": campaign.form_text,
        "channels": list(campaign.channels),
        "period_text": campaign.period_text,
        "period_start": campaign.period_start.isoformat() if campaign.period_start else None,
        "period_end": campaign.period_end.isoformat() if campaign.period_end else None,
        "period_flagged": campaign.period_flagged,
        "description": campaign.description,
        "status": campaign.status,
    }


def _check_number_free(plan_id: int | None, number: int | None, own_id: int | None) -> None:
    if plan_id is not None and db.session.get(Plan, plan_id) is None:
        raise NotFound("No plan with id %(id)s.", code="plan_not_found", id=plan_id)
    if number is None:
        return
    if number < 1:
        raise ValidationFailed("The order number must be 1 or more.", code="number_invalid")
    clash = db.session.scalar(
        select(Campaign.id).where(Campaign.plan_id == plan_id, Campaign.number == number, Campaign.id != (own_id or -1))
    )
    if clash is not None and plan_id is not None:
        raise ValidationFailed("The plan already has a campaign number %(number)d.", code="number_taken", number=number)


def _apply(campaign: Campaign, data: CampaignInput) -> None:
    title = clean_text(data.title)
    if not title:
        raise ValidationFailed("A campaign needs a title.", code="title_required")
    if len(title) > 2000:
        raise ValidationFailed("The title is too long (at most 2000 characters).", code="title_too_long")
    unknown = [c for c in (data.channels or ()) if c not in CHANNELS]
    if unknown:
        raise ValidationFailed("Unknown channel %(channel)s.", code="channel_invalid", channel=", ".join(unknown))
    campaign.title = title
    campaign.lead_unit = unit_for(data.lead_unit)
    _set_partners(campaign, data.lead_unit, data.partner_units)
    _set_channels(campaign, clean_text(data.form_text), data.channels)
    _set_period(campaign, clean_text(data.period_text), data.period_start, data.period_end)
    if data.description is not None:
        campaign.description = data.description.strip()
    elif campaign.description is None:
        campaign.description = ""


def _set_channels(campaign: Campaign, form_text: str, chosen: tuple[str, ...] | None) -> None:
    current = list(campaign.channels or [])
    follows_text = chosen is None or (not campaign.channels_edited and list(chosen) == current)
    campaign.form_text = form_text
    if follows_text:
        if not campaign.channels_edited:
            campaign.channels = derive_channels(form_text)
        return
    campaign.channels = [c for c in CHANNELS if c in (chosen or ())]
    campaign.channels_edited = campaign.channels != derive_channels(form_text)


def partner_names(lead_unit: str, names: tuple[str, ...] | list[str]) -> list[str]:
    """Partner names as stored: cleaned, without duplicates or the lead unit itself."""
    seen = {unit_key(lead_unit)} if lead_unit.strip() else set()
    kept = []
    for name in names:
        name = clean_text(name)
        if name and unit_key(name) not in seen:
            seen.add(unit_key(name))
            kept.append(name)
    return kept


def _set_partners(campaign: Campaign, lead_unit: str, names: tuple[str, ...]) -> None:
    units = [unit for unit in map(unit_for, partner_names(lead_unit, names)) if unit is not None]
    current = [link.unit for link in campaign.partner_links]
    if [u.id for u in current] == [u.id for u in units]:
        return
    campaign.partner_links.clear()
    db.session.flush()
    for position, unit in enumerate(units):
        campaign.partner_links.append(CampaignPartner(unit=unit, position=position))


def _set_period(campaign: Campaign, text: str, start: date | None, end: date | None) -> None:
    text = text[:300]
    kept_dates = (start, end) == (campaign.period_start, campaign.period_end)
    if kept_dates and text == campaign.period_text and (start or end):
        return  # nothing about the period changed
    campaign.period_text = text
    if (start or end) and not kept_dates:
        if start is not None and end is not None and start > end:
            raise ValidationFailed("The period starts after it ends.", code="period_reversed")
        campaign.period_start, campaign.period_end = start, end
        campaign.period_flagged, campaign.period_edited = False, True
        return
    # No dates, or the old dates with a new phrase: the phrase says when.
    period = parse_period(text) if text else None
    campaign.period_edited = False
    if period is not None and period.understood:
        campaign.period_start, campaign.period_end, campaign.period_flagged = period.start, period.end, False
    else:
        # Never guessed: an unreadable phrase waits for a person to set the dates.
        campaign.period_start, campaign.period_end = None, None
        campaign.period_flagged = bool(text)
