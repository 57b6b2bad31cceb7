"""Importing a yearly plan: preview what would change, then apply it.

The reader (`plan_reader`) turns a file into rows; this module writes them through
the campaign service. The preview is the import itself, run and then rolled back,
so what it shows is exactly what confirming will do, refusals included.
Re-importing updates campaigns by their order number instead of duplicating them,
and touches only what the plan file owns: a person's channels, dates (while the
phrase stays the same) and description survive.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from cms.config import Config
from cms.errors import PlanReadError
from cms.extensions import db
from cms.models import Campaign, Plan
from cms.services.audit import Actor, record
from cms.services.campaigns import CampaignInput, create_campaign, update_campaign
from cms.services.plan_reader import PlanDocument, PlanRow, read_plan, split_units
from cms.services.units import clean_text


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
    changes: dict[str, list[Any]]
    status: str
    period_text: str
    period_start: date | None
    period_end: date | None
    flagged: bool  # the period phrase could not be read


@dataclass(frozen=True)
class ImportResult:
    heading: PlanHeading
    plan_id: int | None  # None after a dry run
    plan_existed: bool
    dry_run: bool
    rows: tuple[RowChange, ...]
    missing_numbers: tuple[int, ...]  # campaigns of the plan the file no longer lists (left as they are)

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def flagged(self) -> list[RowChange]:
        return [row for row in self.rows if row.flagged]

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run, "plan_id": self.plan_id, "plan_number": self.heading.number,
            "plan_exists": self.plan_existed, "created": self.count("create"), "updated": self.count("update"),
            "unchanged": self.count("unchanged"), "flagged": [row.number for row in self.flagged],
            "missing_numbers": list(self.missing_numbers),
        }


def read_plan_file(data: bytes, filename: str, number: str | None, config: Config) -> tuple[PlanDocument, PlanHeading]:
    """Read an uploaded plan and its heading, with the configured limits and defaults."""
    document = read_plan(data, filename, max_bytes=config.imports.max_bytes)
    return document, heading_of(document, number, config.organisation.name)


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


def import_plan(document: PlanDocument, heading: PlanHeading, actor: Actor, source_filename: str,
                *, dry_run: bool = False) -> ImportResult:
    """Write the plan and its campaigns (the caller commits), or with `dry_run` roll it all back."""
    _check_unique_numbers(document)
    plan = db.session.scalar(select(Plan).where(Plan.number == heading.number))
    plan_existed = plan is not None
    plan = plan or Plan(number=heading.number)
    plan.title, plan.issuing_body, plan.issued_on = heading.title, heading.issuing_body, heading.issued_on
    plan.place, plan.basis, plan.year = heading.place, heading.basis, heading.year
    plan.source_filename = source_filename[:255]
    db.session.add(plan)
    db.session.flush()
    existing = {c.number: c for c in db.session.scalars(select(Campaign).where(Campaign.plan_id == plan.id))}
    try:
        rows = tuple(_import_row(row, plan.id, existing.get(row.number), actor) for row in document.rows)
    except Exception:
        db.session.rollback()
        raise
    listed = {row.number for row in document.rows}
    result = ImportResult(
        heading=heading, plan_id=None if dry_run else plan.id, plan_existed=plan_existed, dry_run=dry_run, rows=rows,
        missing_numbers=tuple(sorted(n for n in existing if n is not None and n not in listed)),
    )
    if dry_run:
        db.session.rollback()
    else:
        summary = {k: v for k, v in result.as_dict().items() if k not in ("plan_id", "dry_run")}
        record(actor, "plan.import" if plan_existed else "plan.create", "plan", plan.id,
               file=source_filename, format=document.format, **summary)
    return result


def _import_row(row: PlanRow, plan_id: int, campaign: Campaign | None, actor: Actor) -> RowChange:
    if campaign is None:
        campaign = create_campaign(_input_for(row, plan_id, None), actor, status="planned")
        action, changes = "create", {}
    else:
        changes = update_campaign(campaign, _input_for(row, plan_id, campaign), actor, action="campaign.import")
        action = "update" if changes else "unchanged"
    return RowChange(
        number=row.number, title=campaign.title, action=action, changes=changes, status=campaign.status,
        period_text=campaign.period_text, period_start=campaign.period_start, period_end=campaign.period_end,
        flagged=campaign.period_flagged,
    )


def _input_for(row: PlanRow, plan_id: int, campaign: Campaign | None) -> CampaignInput:
    """What the plan file says about a campaign; dates a person set stay while the phrase is unchanged."""
    keep_dates = campaign is not None and campaign.period_edited and campaign.period_text == clean_text(row.period_text)
    return CampaignInput(
        title=row.title, lead_unit=row.lead_unit, partner_units=tuple(split_units(row.partner_units)),
        form_text=row.form_text, channels=None, period_text=row.period_text,
        period_start=campaign.period_start if keep_dates and campaign else None,
        period_end=campaign.period_end if keep_dates and campaign else None,
        description=None, number=row.number, plan_id=plan_id,
    )


def _check_unique_numbers(document: PlanDocument) -> None:
    seen: set[int] = set()
    for row in document.rows:
        if row.number in seen:
            raise PlanReadError("Task number %(number)d appears twice in the table.", code="plan_duplicate_number", number=row.number)
        seen.add(row.number)
