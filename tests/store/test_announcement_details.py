"""The optional announcement fields (`supersedes`, `extraction`, `story_id`) survive the store,
and a store at the first release's schema is migrated to hold them, keeping what it had."""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, insert
from sqlalchemy.engine import Connection

from services.events import Extraction
from services.store import SqlStore, StoreBatch, migrate, open_store
from services.store.codec import announcement_row
from services.store.connect import create_engine
from tests.factories import announcement


async def test_supersedes_and_extraction_round_trip(store: SqlStore) -> None:
    correction = announcement("fr-2025-1-v2").model_copy(
        update={
            "supersedes": "fr-2025-1",
            "extraction": Extraction(confidence=0.75, matched=["korea", "25%"]),
        }
    )
    plain = announcement("by-hand")
    await store.write_batch(StoreBatch(announcements=[correction, plain]))

    assert await store.get_announcement("fr-2025-1-v2") == correction
    stored_plain = await store.get_announcement("by-hand")
    assert stored_plain == plain
    assert stored_plain is not None
    assert stored_plain.extraction is None


async def test_a_store_at_the_first_release_keeps_its_announcements(store_url: str) -> None:
    old = announcement("a0")
    engine = create_engine(store_url)
    try:
        await migrate.upgrade(engine, to=migrate.BASELINE)
        async with engine.begin() as conn:
            await conn.run_sync(insert_as_stored, announcement_row(old))
    finally:
        await engine.dispose()
    correction = announcement("a1").model_copy(update={"supersedes": "a0", "story_id": "a1"})
    async with await open_store(store_url) as store:
        await store.write_batch(StoreBatch(announcements=[correction]))
        kept = await store.get_announcement("a0")
        got = await store.get_announcement("a1")
        story = await store.story("a1")
    assert kept == old
    assert got == correction
    assert story == [correction]


def insert_as_stored(conn: Connection, row: dict[str, Any]) -> None:
    """Into the table as the database has it (reflected): the baseline's columns only."""
    found = MetaData()
    found.reflect(conn, only=["announcements"])
    table = found.tables["announcements"]
    assert "details" not in table.c
    conn.execute(insert(table), {k: v for k, v in row.items() if k in table.c})
