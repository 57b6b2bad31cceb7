"""Campaign endpoints of the REST API."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import g, request

from cms.access import roles_required, signed_in
from cms.api import actor, api_blueprint, json_body, number_field, query_whole_number, text_field
from cms.errors import ValidationFailed
from cms.extensions import db
from cms.models import CAMPAIGN_STATUSES
from cms.services.audit import history
from cms.services.campaigns import (
    CampaignFilter, CampaignInput, allowed_transitions, create_campaign, describe, get_campaign, list_campaigns,
    transition, update_campaign,
)
from cms.services.channels import CHANNELS

bp = api_blueprint("campaigns_api", __name__)

@bp.get("/campaigns")
@signed_in
def campaign_list() -> dict[str, Any]:
    status = request.args.get("status") or None
    if status is not None and status not in CAMPAIGN_STATUSES:
        raise ValidationFailed("Unknown status %(status)s.", code="status_invalid", status=status)
    plan_id = query_whole_number("plan_id")
    channel = request.args.get("channel") or None
    if channel is not None and channel not in CHANNELS:
        raise ValidationFailed("Unknown channel %(channel)s.", code="channel_invalid", channel=channel)
    campaigns = list_campaigns(CampaignFilter(plan_id=plan_id, status=status, channel=channel, text=request.args.get("q", "")[:200]))
    return {"campaigns": [describe(c) for c in campaigns]}


@bp.get("/campaigns/<int:campaign_id>")
@signed_in
def campaign_get(campaign_id: int) -> dict[str, Any]:
    campaign = get_campaign(campaign_id)
    return describe(campaign) | {"allowed_transitions": allowed_transitions(campaign, g.api_user.role)}


def _date(body: dict[str, Any], key: str) -> date | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        return date.fromisoformat(value) if isinstance(value, str) else _bad_date(key)
    except ValueError:
        return _bad_date(key)


def _bad_date(key: str) -> date:
    raise ValidationFailed("%(key)s must be an ISO date (YYYY-MM-DD).", code="date_invalid", key=key)


def _input(body: dict[str, Any], base: dict[str, Any] | None = None) -> CampaignInput:
    """The campaign as given, on top of `base` (its current state, for PATCH).

    Channels are passed only when the body names them, so a PATCH of the text
    lets derived channels follow it; dates are always passed and the service
    tells a kept date from a new one.
    """
    merged = (base or {}) | body
    channels = body.get("channels")
    partners = merged.get("partner_units") or []
    number = number_field(merged, "number", whole=True)
    plan_id = number_field(merged, "plan_id", whole=True)
    if channels is not None and not (isinstance(channels, list) and all(isinstance(c, str) for c in channels)):
        raise ValidationFailed("channels must be a list of channel names.", code="field_invalid", key="channels")
    if not (isinstance(partners, list) and all(isinstance(p, str) for p in partners)):
        raise ValidationFailed("partner_units must be a list of names.", code="field_invalid", key="partner_units")
    return CampaignInput(
        title=text_field(merged, "title", max_length=2000), lead_unit=text_field(merged, "lead_unit", max_length=500) or "",
        partner_units=tuple(partners), form_text=text_field(merged, "form_text"),
        channels=tuple(channels) if channels is not None else None,
        period_text=text_field(merged, "period_text", max_length=300),
        period_start=_date(merged, "period_start"), period_end=_date(merged, "period_end"),
        description=text_field(merged, "description"), number=number, plan_id=plan_id,
    )


@bp.post("/campaigns")
@roles_required("editor")
def campaign_create() -> tuple[dict[str, Any], int]:
    campaign = create_campaign(_input(json_body()), actor())
    db.session.commit()
    return describe(campaign), 201


@bp.patch("/campaigns/<int:campaign_id>")
@roles_required("editor")
def campaign_update(campaign_id: int) -> dict[str, Any]:
    campaign = get_campaign(campaign_id)
    body = json_body()
    unknown = set(body) - set(describe(campaign)) - {"plan_id"}
    if unknown or {"id", "status"} & set(body):
        raise ValidationFailed("These fields cannot be set here: %(keys)s.", code="field_invalid",
                               keys=", ".join(sorted(unknown | ({"id", "status"} & set(body)))))
    changes = update_campaign(campaign, _input(body, describe(campaign)), actor())
    db.session.commit()
    return describe(campaign) | {"changes": changes}


@bp.post("/campaigns/<int:campaign_id>/transitions")
@signed_in
def campaign_transition(campaign_id: int) -> dict[str, Any]:
    campaign = get_campaign(campaign_id)
    body = json_body()
    transition(campaign, text_field(body, "to", max_length=20), actor(), text_field(body, "note", max_length=1000))
    db.session.commit()
    return describe(campaign)


@bp.get("/campaigns/<int:campaign_id>/history")
@signed_in
def campaign_history(campaign_id: int) -> dict[str, Any]:
    campaign = get_campaign(campaign_id)
    return {"history": [
        {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "details": e.details}
        for e in history("campaign", campaign.id)
    ]}
