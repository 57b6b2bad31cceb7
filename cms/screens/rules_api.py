"""Schedule rule endpoints of the REST API."""
from __future__ import annotations

from datetime import date
from typing import Any

from cms.access import roles_required, signed_in
from cms.api import LARGEST_WHOLE, SMALLEST_WHOLE, actor, api_blueprint, json_body, number_field, text_field
from cms.errors import ValidationFailed
from cms.extensions import db
from cms.services.rules import (
    RuleInput, approve_interrupt, create_rule, delete_rule, describe_rule, get_rule, list_rules,
)

bp = api_blueprint("rules_api", __name__)


def _ints(body: dict[str, Any], key: str, default: list[int]) -> tuple[int, ...]:
    value = body.get(key, default)
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValidationFailed("%(key)s must be a list of whole numbers.", code="field_invalid", key=key)
    if not all(SMALLEST_WHOLE <= v <= LARGEST_WHOLE for v in value):
        raise ValidationFailed("%(key)s is out of range.", code="field_invalid", key=key)
    return tuple(value)


def _date(body: dict[str, Any], key: str) -> date | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        raise ValidationFailed("%(key)s must be an ISO date (YYYY-MM-DD).", code="date_invalid", key=key) from None


def _windows(body: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    value = body.get("windows", [])
    if not isinstance(value, list) or not all(isinstance(w, str) and "-" in w for w in value):
        raise ValidationFailed("windows must be a list like ['07:00-09:00'].", code="rule_window_invalid")
    return tuple(tuple(part.strip() for part in w.split("-", 1)) for w in value)  # type: ignore[misc]


@bp.get("/rules")
@signed_in
def rule_list() -> dict[str, Any]:
    return {"rules": [describe_rule(r) for r in list_rules()]}


@bp.post("/rules")
@roles_required("editor", "operator")
def rule_create() -> tuple[dict[str, Any], int]:
    body = json_body()
    groups = body.get("groups", [])
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise ValidationFailed("groups must be a list of names.", code="field_invalid", key="groups")
    pph = number_field(body, "plays_per_hour", whole=True)
    sov = number_field(body, "share_of_voice")
    playlist_id = number_field(body, "playlist_id", whole=True, required=True)
    priority = number_field(body, "priority", 0, whole=True)
    rule = create_rule(RuleInput(
        playlist_id=playlist_id, board_ids=_ints(body, "board_ids", []), groups=tuple(groups),
        date_from=_date(body, "date_from"), date_to=_date(body, "date_to"),
        weekdays=_ints(body, "weekdays", [0, 1, 2, 3, 4, 5, 6]), windows=_windows(body), priority=priority,
        plays_per_hour=pph, share_of_voice=float(sov) if sov is not None else None,
        interrupt=bool(body.get("interrupt", False)), note=text_field(body, "note", max_length=500),
    ), actor())
    db.session.commit()
    return describe_rule(rule), 201


@bp.post("/rules/<int:rule_id>/approve")
@roles_required("approver")
def rule_approve(rule_id: int) -> dict[str, Any]:
    rule = get_rule(rule_id)
    approve_interrupt(rule, actor())
    db.session.commit()
    return describe_rule(rule)


@bp.delete("/rules/<int:rule_id>")
@roles_required("editor")
def rule_delete(rule_id: int) -> tuple[str, int]:
    delete_rule(get_rule(rule_id), actor())
    db.session.commit()
    return "", 204
