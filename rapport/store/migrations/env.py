"""Alembic's entry: migrations run on the engine the store hands over (`Store.upgrade`)."""

from __future__ import annotations

from alembic import context

from rapport.store import tables  # noqa: F401  (every table group registers on metadata)
from rapport.store.schema import metadata

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=engine.dialect.name == "sqlite",
    )
    context.run_migrations()
