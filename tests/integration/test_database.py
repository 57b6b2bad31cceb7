"""The schema is owned by Alembic and matches the models; SQLite runs in WAL mode."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask import Flask
from sqlalchemy import text

from cms.database import current_revision, head_revision, upgrade
from cms.extensions import db


def test_the_migrations_create_exactly_the_models_schema(ctx: Flask) -> None:
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), db.metadata)
    assert differences == []


def test_upgrading_twice_is_harmless(ctx: Flask) -> None:
    upgrade(db.engine)
    upgrade(db.engine)
    assert current_revision(db.engine) == head_revision(db.engine)


def test_sqlite_uses_wal_a_busy_timeout_and_foreign_keys(ctx: Flask) -> None:
    if db.engine.dialect.name != "sqlite":
        return  # PostgreSQL has its own concurrency; nothing to set
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_timestamps_come_back_in_utc_on_every_database(ctx: Flask) -> None:
    from datetime import datetime, timedelta, timezone

    from cms.models import AuditEvent

    local = datetime(2024, 3, 23, 20, 30, tzinfo=timezone(timedelta(hours=7)))
    db.session.add(AuditEvent(at=local, actor="t", action="test", object_type="t", object_id=None, details={}))
    db.session.commit()
    db.session.expire_all()
    stored = db.session.scalar(db.select(AuditEvent))
    assert stored.at == local and stored.at.utcoffset() == timedelta(0)
