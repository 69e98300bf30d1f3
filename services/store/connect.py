"""One URL picks the back-end: `sqlite+aiosqlite:///path` or `postgresql+asyncpg://...`."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from services.store.exceptions import UnsupportedDatabaseUrl

_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}


def database_url(url: str) -> URL:
    """The URL with the async driver filled in (`sqlite:///x.db` → `sqlite+aiosqlite:///x.db`)."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise UnsupportedDatabaseUrl(f"cannot parse database URL: {exc}") from exc
    backend = parsed.get_backend_name()
    driver = _DRIVERS.get(backend)
    if driver is None:
        raise UnsupportedDatabaseUrl(f"unsupported database {backend!r}: use sqlite or postgresql")
    if parsed.drivername == backend:
        parsed = parsed.set(drivername=f"{backend}+{driver}")
    elif parsed.get_driver_name() != driver:
        raise UnsupportedDatabaseUrl(
            f"{backend} needs the {driver} driver, not {parsed.drivername}"
        )
    return parsed


def create_engine(url: str, *, wal_checkpoints_apart: bool = False) -> AsyncEngine:
    """With `wal_checkpoints_apart`, a file SQLite database's connections leave the write-ahead
    log's checkpoints to `services.store.walcheckpoint` (its caller runs it)."""
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, auto_checkpoint=not wal_checkpoints_apart)
    return create_async_engine(parsed, pool_size=10, max_overflow=20, pool_recycle=3600)


def is_sqlite_file(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite" and not _in_memory(engine.url.database)


def _in_memory(database: str | None) -> bool:
    """Whether a SQLite URL's database is not a plain file (none, `:memory:`, or a `file:`
    URI): one connection, shared (StaticPool), and no second engine on it."""
    return not database or database == ":memory:" or database.startswith("file:")


def _sqlite_engine(url: URL, *, auto_checkpoint: bool = True) -> AsyncEngine:
    options: dict[str, Any] = {"connect_args": {"timeout": 30}}
    if _in_memory(url.database):
        options["poolclass"] = StaticPool
    else:
        Path(str(url.database)).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, **options)
    event.listen(engine.sync_engine, "connect", partial(_sqlite_pragmas, auto_checkpoint))
    return engine


def _sqlite_pragmas(auto_checkpoint: bool, dbapi_connection: Any, _record: Any) -> None:
    # WAL: readers never block the writer; NORMAL sync is durable across application crashes
    cursor = dbapi_connection.cursor()
    pragmas = ["journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"]
    if not auto_checkpoint:  # no commit copies the log into the database (and syncs it)
        pragmas.append("wal_autocheckpoint=0")
    for pragma in pragmas:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def sqlite_file_writer(
    engine: AsyncEngine, *, wal_checkpoints_apart: bool = False
) -> Engine | None:
    """For a file SQLite database, a synchronous engine on the same file (the standard library's
    driver, the same settings as `engine`'s) whose transactions run whole in a thread of the
    caller's (`services.store.batchwrite`); None for any other database."""
    if not is_sqlite_file(engine):
        return None
    url = engine.url.set(drivername="sqlite")
    options = {"timeout": 30, "check_same_thread": False}  # opened and closed in one thread
    writer = create_sync_engine(url, connect_args=options, pool_size=1, max_overflow=0)
    auto_checkpoint = not wal_checkpoints_apart
    event.listen(writer, "connect", partial(_sqlite_pragmas, auto_checkpoint))
    return writer
