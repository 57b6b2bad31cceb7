"""Domain errors: one place, each with a stable code.

Services raise these; the web layer maps them once to flash messages, the API once
to JSON bodies with the code, and the CLI once to a message and a non-zero exit.
`message` is English and passes through the translation catalogue in the UI.
"""
from __future__ import annotations

from typing import Any


class PanoledError(Exception):
    """Base of every error a user can act on."""

    code: str = "error"
    http_status: int = 400

    def __init__(self, message: str, *, code: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.params = params

    def __str__(self) -> str:
        try:
            return self.message % self.params if self.params else self.message
        except (KeyError, ValueError, TypeError):
            return self.message


class ValidationFailed(PanoledError):
    """Input that cannot be accepted as given."""

    code = "invalid_input"
    http_status = 422


class NotFound(PanoledError):
    code = "not_found"
    http_status = 404


class Conflict(PanoledError):
    code = "conflict"
    http_status = 409


class PlanReadError(PanoledError):
    """A plan file that cannot be read as a plan (corrupt, no table, missing columns, too big)."""

    code = "plan_unreadable"
    http_status = 422


class WeakPassword(ValidationFailed):
    code = "weak_password"


class TransitionNotAllowed(PanoledError):
    code = "transition_not_allowed"
    http_status = 409


class InvalidCredentials(PanoledError):
    code = "invalid_credentials"
    http_status = 401


class LoginThrottled(PanoledError):
    code = "login_throttled"
    http_status = 429


class ConfigError(Exception):
    """A configuration file or environment variable that cannot be used; names the key."""


class MediaNotAccepted(PanoledError):
    """An upload refused by media validation; carries media's own stable code."""

    code = "media_rejected"
    http_status = 422


class ApprovalNotAllowed(PanoledError):
    code = "approval_not_allowed"
    http_status = 409
