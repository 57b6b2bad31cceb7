"""Why a file is refused: a stable code for the API and a sentence for a person."""
from __future__ import annotations

from typing import Any


def N_(message: str) -> str:
    """Marks a message kept in a constant for the translation catalogue; returns it unchanged.
    (The web layer translates messages when it shows them; this package has no UI.)"""
    return message


class MediaRejected(Exception):
    """A file that cannot be taken. `message` is English with %(name)s parameters;
    the web layer translates it. Codes are stable (the API returns them)."""

    def __init__(self, code: str, message: str, **params: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params

    def __str__(self) -> str:
        try:
            return self.message % self.params if self.params else self.message
        except (KeyError, ValueError, TypeError):
            return self.message


class MediaProcessingError(Exception):
    """A derivative (thumbnail, rendition, preview) could not be made from an accepted file."""
