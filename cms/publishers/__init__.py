"""Publishers: push the department's published posts to a portal that has an API.

A publisher knows one kind of portal. It is told what the portal must show and only
talks to it; cms.services.portal decides what to send (only what the public website
shows) and keeps track of what the portal has.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class PublishError(Exception):
    """A portal refused or could not be reached. `retry`: worth trying again later (the portal
    was down, slow or busy); otherwise it refused what was sent and a person must look."""

    def __init__(self, message: str, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True)
class RemoteFile:
    """A file the portal holds: its id there and the address it serves it at."""

    remote_id: str
    url: str


@dataclass(frozen=True)
class RemotePost:
    remote_id: str
    url: str


@dataclass(frozen=True)
class PostContent:
    """What a post on the portal shows: `title` and `summary` as plain text, `html` as
    markup that names files by their portal addresses."""

    title: str
    summary: str
    html: str
    featured: str = ""  # remote id of the featured image, if any


class Publisher(ABC):
    kind: str

    @abstractmethod
    def upload(self, path: Path, file_name: str, mime: str, alt_text: str) -> RemoteFile:
        """Upload a file under a name unique to it; the portal serves it publicly from then on."""

    @abstractmethod
    def find_files(self, file_name: str) -> list[RemoteFile]:
        """The files the portal holds that were uploaded under this name (an upload whose
        answer was lost may still have arrived)."""

    @abstractmethod
    def delete_file(self, remote_id: str) -> None:
        """Remove a file from the portal for good (gone already is fine)."""

    @abstractmethod
    def publish(self, remote_id: str, content: PostContent) -> RemotePost:
        """Create the post (`remote_id` empty) or change it, and make it public. A post the
        portal no longer has is created again."""

    @abstractmethod
    def withdraw(self, remote_id: str) -> None:
        """Take the post off the public portal (kept there as a draft; gone already is fine)."""


def publisher_for(config: Any) -> Publisher | None:
    """The configured publisher ([publishing] kind), or None when posts go to no portal."""
    settings = config.publishing
    if settings.kind == "wordpress":
        from cms.publishers.wordpress import WordPressPublisher

        return WordPressPublisher(settings.url, settings.user, settings.application_password,
                                  timeout=settings.timeout_seconds)
    return None
