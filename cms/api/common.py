"""Helpers every API module shares: the acting user and reading JSON bodies."""
from __future__ import annotations

from typing import Any

from flask import g, request

from cms.errors import ValidationFailed
from cms.services.audit import Actor


def actor() -> Actor:
    return Actor.of(g.api_user)


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
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
