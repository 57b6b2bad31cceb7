"""Reading plans."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cms.errors import NotFound
from cms.extensions import db
from cms.models import Plan


def list_plans() -> list[Plan]:
    return list(db.session.scalars(select(Plan).order_by(Plan.year.desc().nulls_last(), Plan.number)))


def get_plan(plan_id: int) -> Plan:
    plan = db.session.get(Plan, plan_id)
    if plan is None:
        raise NotFound("No plan with id %(id)s.", code="plan_not_found", id=plan_id)
    return plan


def describe_plan(plan: Plan) -> dict[str, Any]:
    return {
        "id": plan.id,
        "number": plan.number,
        "title": plan.title,
        "issuing_body": plan.issuing_body,
        "issued_on": plan.issued_on.isoformat() if plan.issued_on else None,
        "place": plan.place,
        "basis": plan.basis,
        "year": plan.year,
        "campaign_count": len(plan.campaigns),
    }
