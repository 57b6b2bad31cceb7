"""Engine set-up and migrations.

SQLite gets WAL (readers never block the writer), a busy timeout and enforced
foreign keys on every connection. The schema is owned by Alembic: `upgrade()`
creates or upgrades it, and is what `panoled init` runs.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from cms.extensions import db

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def init_app(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration (idempotent)."""
    command.upgrade(alembic_config(engine), "head")


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def new_migration(message: str) -> None:
    """Write the next migration from the difference between the models and the newest
    migration (used by `make migration MESSAGE=...`), against a throwaway SQLite file."""
    import tempfile

    from sqlalchemy import create_engine

    import cms.models  # noqa: F401  (registers every table)

    if not message.strip():
        raise SystemExit('give a message: make migration MESSAGE="what changes"')
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite:///{folder}/migration.sqlite3")
        upgrade(engine)
        heads = ScriptDirectory.from_config(alembic_config(engine)).get_current_head() or "0000"
        command.revision(alembic_config(engine), message=message, autogenerate=True, rev_id=f"{int(heads) + 1:04d}")
        engine.dispose()
