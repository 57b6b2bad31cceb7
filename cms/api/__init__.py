"""What every REST API module shares: the version prefix, the acting user, JSON bodies.

Each feature keeps its endpoints in its own `api.py` with a blueprint made by
`api_blueprint`. API routes accept bearer tokens only (see cms.access), so they are
exempt from CSRF. The OpenAPI document is in cms.api.openapi.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, g, request

from cms.errors import ValidationFailed
from cms.services.audit import Actor

PREFIX = "/api/v1"
# Ids and counts live in INTEGER columns: a whole number outside this range names no row and cannot be stored.
SMALLEST_WHOLE, LARGEST_WHOLE = -(2**31), 2**31 - 1


def api_blueprint(name: str, import_name: str) -> Blueprint:
    return Blueprint(name, import_name, url_prefix=PREFIX)


def actor() -> Actor:
    return Actor.of(g.api_user)


def json_body() -> dict[str, Any]:
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested too deep to parse: as bad as any other non-JSON body
        body = None
    if not isinstance(body, dict):
        raise ValidationFailed("The request body must be a JSON object.", code="body_not_json")
    return body


def text_field(body: dict[str, Any], key: str, default: str = "", max_length: int = 20000) -> str:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValidationFailed("%(key)s must be a string.", code="field_invalid", key=key)
    if len(value) > max_length:
        raise ValidationFailed("%(key)s is too long.", code="field_invalid", key=key)
    return value


def number_field(body: dict[str, Any], key: str, default: float | None = None, whole: bool = False,
                 required: bool = False) -> Any:
    """A JSON number (a whole one with `whole`), the default when absent or null."""
    value = body.get(key)
    if value is None and not required:
        return default
    if whole and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValidationFailed("%(key)s must be a whole number.", code="field_invalid", key=key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationFailed("%(key)s must be a number.", code="field_invalid", key=key)
    if whole and not SMALLEST_WHOLE <= value <= LARGEST_WHOLE:
        raise ValidationFailed("%(key)s is out of range.", code="field_invalid", key=key)
    return value


def query_whole_number(key: str) -> int | None:
    """A whole number from the query string (an id to filter by); None when absent or empty."""
    text = request.args.get(key, "").strip()
    if not text:
        return None
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()):
        raise ValidationFailed("%(key)s must be a whole number.", code="field_invalid", key=key)
    value = int(text)
    if not SMALLEST_WHOLE <= value <= LARGEST_WHOLE:
        raise ValidationFailed("%(key)s is out of range.", code="field_invalid", key=key)
    return value
