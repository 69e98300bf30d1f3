"""A store opened by `open_store` on a SQLite file copies its write-ahead log into the database
file beside the writes (services/store/walcheckpoint.py), not in a commit: its connections do
not checkpoint, and what is written reaches the database file all the same."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

from services.store import StoreBatch, open_store
from tests.factories import announcement


def ids_in_the_database_file(db: Path, copy: Path) -> set[str]:
    """The announcements the database file holds, without its log (a copy of the file
    alone: what was checkpointed)."""
    shutil.copyfile(db, copy)
    with sqlite3.connect(copy) as conn:
        try:
            return {row[0] for row in conn.execute("SELECT id FROM announcements")}
        except sqlite3.DatabaseError:  # not even the schema copied yet
            return set()


async def test_the_log_reaches_the_database_file_beside_the_writes(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    written = {f"a{i}" for i in range(50)}
    async with await open_store(f"sqlite+aiosqlite:///{db}") as store:
        async with store.engine.connect() as conn:
            # no commit checkpoints (and syncs) the log
            assert (await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar() == 0
        await store.write_batch(StoreBatch([announcement(i) for i in sorted(written)]))
        copied: set[str] = set()
        for _ in range(200):  # a checkpoint every second: bounded at 20 s
            copied = ids_in_the_database_file(db, tmp_path / "copy.db")
            if copied == written:
                break
            await asyncio.sleep(0.1)
        assert copied == written
    assert store.checkpointing is not None
    assert store.checkpointing.done()  # stopped by close
