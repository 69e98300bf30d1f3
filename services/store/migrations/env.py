"""Alembic's environment: migrations run on the connection `services.store.migrate` hands in
(`config.attributes["connection"]`), inside the caller's transaction, on SQLite or PostgreSQL."""

from __future__ import annotations

from alembic import context

from services.store import sql  # noqa: F401 - every module that declares tables is loaded
from services.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
