"""Recording who did what: every state change goes through `record`."""
from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from cms.extensions import db
from cms.models import AuditEvent, User


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in user, an API token's owner, or the command line."""

    label: str
    user_id: int | None = None
    role: str = "admin"

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(label=user.email, user_id=user.id, role=user.role)

    @classmethod
    def command_line(cls) -> Actor:
        try:
            who = getpass.getuser()
        except (KeyError, OSError):
            who = "unknown"
        return cls(label=f"cli:{who}@{socket.gethostname()}", role="admin")


def record(actor: Actor, action: str, object_type: str, object_id: int | None, **details: Any) -> AuditEvent:
    event = AuditEvent(
        user_id=actor.user_id, actor=actor.label, action=action,
        object_type=object_type, object_id=object_id, details=details,
    )
    db.session.add(event)
    return event


def history(object_type: str, object_id: int) -> list[AuditEvent]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    return list(db.session.scalars(query))


def recent(limit: int = 200, offset: int = 0) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit).offset(offset)
    return list(db.session.scalars(query))
