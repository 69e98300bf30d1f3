"""Schema migrations with Alembic, on SQLite and PostgreSQL alike.

The revisions live in `services/store/migrations/versions`, written by hand (one file per change,
`upgrade` and `downgrade`). A store created before migrations existed (tables, no
`alembic_version`) is taken as revision 0001, whose tables it has, then upgraded. A store at a
revision this version does not know was migrated by a newer release: it is refused, never
touched. On PostgreSQL one advisory lock serialises the replicas that start together.
"""

from __future__ import annotations

from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from services.store.exceptions import SchemaOutdated, SchemaTooNew
from services.store.schema import RETIRED_INDEXES

SCRIPTS = "services.store:migrations"
BASELINE = "0001"
"""The schema the first release created without migrations."""
_LOCK = text("SELECT pg_advisory_xact_lock(:k)")
_LOCK_KEY = 0x4D52_4D49  # "MRMI"


@dataclass(frozen=True, slots=True)
class SchemaState:
    current: str | None
    """The store's revision; None: empty, or created before migrations."""
    head: str
    """The newest revision this version knows."""


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPTS)
    config.attributes["connection"] = connection
    return config


def _head(config: Config) -> str:
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None  # the package ships its revisions
    return head


def _state(connection: Connection) -> SchemaState:
    config = _config(connection)
    current = MigrationContext.configure(connection).get_current_revision()
    if current is not None:
        try:
            ScriptDirectory.from_config(config).get_revision(current)
        except CommandError as exc:
            raise SchemaTooNew(
                f"the store is at schema revision {current!r}, newer than this version knows "
                f"(up to {_head(config)!r}): run a release that knows it"
            ) from exc
    return SchemaState(current, _head(config))


def _upgrade(connection: Connection, to: str) -> SchemaState:
    if connection.dialect.name == "postgresql":
        connection.execute(_LOCK, {"k": _LOCK_KEY})
    before = _state(connection)
    config = _config(connection)
    if before.current is None and inspect(connection).has_table("reaction_revisions"):
        for name in RETIRED_INDEXES:
            connection.execute(text(f"DROP INDEX IF EXISTS {name}"))
        command.stamp(config, BASELINE)
    command.upgrade(config, to)
    return before


def _check(connection: Connection) -> SchemaState:
    state = _state(connection)
    if state.current != state.head:
        raise SchemaOutdated(
            f"the store is at schema revision {state.current!r}, this version needs "
            f"{state.head!r}: run `market-reaction db upgrade`"
        )
    return state


async def upgrade(engine: AsyncEngine, to: str = "head") -> SchemaState:
    """Migrate the store to revision `to` (the newest by default); returns where it was."""
    async with engine.begin() as conn:
        return await conn.run_sync(_upgrade, to)


async def check(engine: AsyncEngine) -> SchemaState:
    """Raise unless the store is exactly at the newest revision."""
    async with engine.connect() as conn:
        return await conn.run_sync(_check)


async def state(engine: AsyncEngine) -> SchemaState:
    async with engine.connect() as conn:
        return await conn.run_sync(_state)
