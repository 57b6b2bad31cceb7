"""Importing a yearly plan: preview what would change, then apply it.

The reader (`plan_reader`) turns a file into rows; this module compares the rows
with the database and writes them in one transaction. Re-importing the same plan
updates campaigns by their order number instead of duplicating them, and a
campaign whose channels a person edited keeps them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from cms.errors import PlanReadError
from cms.extensions import db
from cms.models import Campaign, Plan
from cms.services.audit import Actor, record
from cms.services.campaigns import CampaignInput, create_campaign, describe, partner_names, update_campaign
from cms.services.channels import derive_channels
from cms.services.periods import parse_period
from cms.services.plan_reader import PlanDocument, PlanRow, split_units
from cms.services.units import clean_text, unit_key


@dataclass(frozen=True)
class PlanHeading:
    number: str
    title: str
    issuing_body: str
    issued_on: date | None
    place: str
    basis: str
    year: int | None


@dataclass(frozen=True)
class RowChange:
    number: int
    title: str
    action: str  # "create", "update" or "unchanged"
    changes: dict[str, tuple[Any, Any]]
    period_text: str
    period_start: date | None
    period_end: date | None
    flagged: bool  # the period phrase could not be read


@dataclass(frozen=True)
class ImportPreview:
    heading: PlanHeading
    plan_exists: bool
    rows: tuple[RowChange, ...]
    missing_numbers: tuple[int, ...] = ()  # campaigns in the database the file no longer lists

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def flagged(self) -> list[RowChange]:
        return [row for row in self.rows if row.flagged]


@dataclass(frozen=True)
class ImportSummary:
    plan_id: int
    plan_number: str
    created: int
    updated: int
    unchanged: int
    flagged: tuple[int, ...]
    missing_numbers: tuple[int, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id, "plan_number": self.plan_number, "created": self.created,
            "updated": self.updated, "unchanged": self.unchanged, "flagged": list(self.flagged),
            "missing_numbers": list(self.missing_numbers),
        }


def heading_of(document: PlanDocument, number: str | None = None, default_body: str = "") -> PlanHeading:
    meta = document.meta
    plan_number = clean_text(number or meta.number or "").replace(" /", "/").replace("/ ", "/")
    if not plan_number:
        raise PlanReadError(
            "The plan number (\u201cSố: …\u201d) is not in the document; give it in the plan number field.",
            code="plan_number_missing",
        )
    if len(plan_number) > 60:
        raise PlanReadError("The plan number is too long (at most 60 characters).", code="plan_number_invalid")
    return PlanHeading(
        number=plan_number,
        title=clean_text(meta.title or ""),
        issuing_body=clean_text(meta.issuing_body or default_body),
        issued_on=meta.issued_on,
        place=clean_text(meta.place or ""),
        basis=clean_text(meta.basis or ""),
        year=meta.year,
    )


def preview_import(document: PlanDocument, heading: PlanHeading) -> ImportPreview:
    """What applying the document would do, without writing anything."""
    plan = _find_plan(heading.number)
    existing = _campaigns_by_number(plan)
    rows = tuple(_row_change(row, existing.get(row.number)) for row in document.rows)
    listed = {row.number for row in document.rows}
    missing = tuple(sorted(n for n in existing if n not in listed))
    return ImportPreview(heading=heading, plan_exists=plan is not None, rows=rows, missing_numbers=missing)


def apply_import(document: PlanDocument, heading: PlanHeading, actor: Actor, source_filename: str) -> ImportSummary:
    """Write the plan and its campaigns in one transaction, and say what happened."""
    _check_unique_numbers(document)
    preview = preview_import(document, heading)
    plan = _find_plan(heading.number) or Plan(number=heading.number)
    plan_is_new = plan.id is None
    plan.title, plan.issuing_body, plan.issued_on = heading.title, heading.issuing_body, heading.issued_on
    plan.place, plan.basis, plan.year = heading.place, heading.basis, heading.year
    plan.source_filename = source_filename[:255]
    db.session.add(plan)
    db.session.flush()
    existing = _campaigns_by_number(plan)
    for row in document.rows:
        data = _input_for(row, plan.id)
        campaign = existing.get(row.number)
        if campaign is None:
            create_campaign(data, actor, status="planned")
        else:
            update_campaign(campaign, data, actor, action="campaign.import")
    summary = ImportSummary(
        plan_id=plan.id, plan_number=plan.number, created=preview.count("create"), updated=preview.count("update"),
        unchanged=preview.count("unchanged"), flagged=tuple(row.number for row in preview.flagged),
        missing_numbers=preview.missing_numbers,
    )
    record(actor, "plan.import" if not plan_is_new else "plan.create", "plan", plan.id,
           file=source_filename, format=document.format, **{k: v for k, v in summary.as_dict().items() if k != "plan_id"})
    db.session.commit()
    return summary


def _check_unique_numbers(document: PlanDocument) -> None:
    seen: set[int] = set()
    for row in document.rows:
        if row.number in seen:
            raise PlanReadError("Task number %(number)d appears twice in the table.", code="plan_duplicate_number", number=row.number)
        seen.add(row.number)


def _find_plan(number: str) -> Plan | None:
    return db.session.scalar(select(Plan).where(Plan.number == number))


def _campaigns_by_number(plan: Plan | None) -> dict[int, Campaign]:
    if plan is None or plan.id is None:
        return {}
    campaigns = db.session.scalars(select(Campaign).where(Campaign.plan_id == plan.id, Campaign.number.is_not(None)))
    return {c.number: c for c in campaigns if c.number is not None}


def _input_for(row: PlanRow, plan_id: int | None) -> CampaignInput:
    return CampaignInput(
        title=row.title, lead_unit=row.lead_unit, partner_units=tuple(split_units(row.partner_units)),
        form_text=row.form_text, period_text=row.period_text, number=row.number, plan_id=plan_id,
    )


def _row_change(row: PlanRow, campaign: Campaign | None) -> RowChange:
    period = parse_period(clean_text(row.period_text)) if row.period_text.strip() else None
    start, end = (period.start, period.end) if period and period.understood else (None, None)
    flagged = bool(row.period_text.strip()) and not (period and period.understood)
    if campaign is None:
        return RowChange(row.number, clean_text(row.title), "create", {}, row.period_text, start, end, flagged)
    before = describe(campaign)
    after = {
        "title": clean_text(row.title),
        "lead_unit": clean_text(row.lead_unit) or None,
        "partner_units": partner_names(row.lead_unit, split_units(row.partner_units)),
        "form_text": clean_text(row.form_text),
        "channels": before["channels"] if campaign.channels_edited else derive_channels(clean_text(row.form_text)),
        "period_text": clean_text(row.period_text),
        "period_start": start.isoformat() if start else None,
        "period_end": end.isoformat() if end else None,
    }
    changes = {key: (before[key], value) for key, value in after.items() if _differs(key, before[key], value)}
    return RowChange(row.number, after["title"], "update" if changes else "unchanged", changes, row.period_text, start, end, flagged)


def _differs(key: str, before: Any, after: Any) -> bool:
    if key == "lead_unit":
        return unit_key(before or "") != unit_key(after or "")
    if key == "partner_units":
        return [unit_key(u) for u in before] != [unit_key(u) for u in after]
    return before != after
