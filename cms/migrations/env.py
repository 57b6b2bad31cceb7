"""Alembic environment: runs against the engine handed in by cms.database."""
from __future__ import annotations

from alembic import context

import cms.models  # noqa: F401  (registers every table on the metadata)
from cms.extensions import db

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=db.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
