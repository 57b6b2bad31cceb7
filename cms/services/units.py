"""Organisation units: found by a case- and space-insensitive key, created on first use."""
from __future__ import annotations

import unicodedata

from sqlalchemy import select

from cms.extensions import db
from cms.models import OrgUnit


def clean_text(text: str) -> str:
    """NFC with runs of whitespace collapsed: how every name is stored."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def unit_key(name: str) -> str:
    return clean_text(name).casefold()


def unit_for(name: str) -> OrgUnit | None:
    """The unit with this name, created when new; None for an empty name."""
    name = clean_text(name)
    if not name:
        return None
    key = unit_key(name)
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.key == key))
    if unit is None:
        unit = OrgUnit(name=name[:500], key=key[:500])
        db.session.add(unit)
        db.session.flush()
    return unit


def sort_key(name: str) -> tuple[str, str]:
    """Vietnamese reading order, near enough: letters first without their marks, then with."""
    base = unicodedata.normalize("NFD", name.casefold().replace("đ", "d~"))
    return "".join(ch for ch in base if not unicodedata.combining(ch)), name.casefold()


def list_units() -> list[OrgUnit]:
    return sorted(db.session.scalars(select(OrgUnit)), key=lambda unit: sort_key(unit.name))


def list_lead_units() -> list[OrgUnit]:
    """Units that lead at least one campaign: the ones worth filtering by."""
    from cms.models import Campaign

    query = select(OrgUnit).where(OrgUnit.id.in_(select(Campaign.lead_unit_id)))
    return sorted(db.session.scalars(query), key=lambda unit: sort_key(unit.name))
