"""SQLite's write-ahead log checkpointed beside the writes, not in them.

By default the commit that brings the log past 1,000 pages copies it into the database file and
syncs both: one write batch in a few dozen, at a rate of batches a second, waited for that sync
(tens to hundreds of ms on a busy disk) with the live path behind it. A store opened by
`open_store` turns that off on its connections and runs `checkpoint_wal` instead: a passive
checkpoint every `interval_s` on a connection of its own, whose driver thread does the copying
and syncing while batches are written. Passive: it never waits for a writer or a reader, and
does what it can. Durability is unchanged: a commit is in the log (synchronous=NORMAL), whoever
copies it later.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

INTERVAL_S = 1.0
"""About a second of writes in the log at most (a few MB at the live path's peak)."""


async def checkpoint_wal(engine: AsyncEngine, interval_s: float = INTERVAL_S) -> None:
    """Checkpoint the log every `interval_s`, until cancelled (a failure is logged and the
    next interval tries again)."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            async with engine.connect() as conn:
                await conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except (OSError, SQLAlchemyError) as exc:
            log.warning("write-ahead log not checkpointed: %r", exc)
