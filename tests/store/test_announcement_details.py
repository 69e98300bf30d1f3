"""The optional announcement fields (`supersedes`, `extraction`) survive the store, and a store
created before they existed gains their column at start-up."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from services.events import Announcement, Extraction
from services.store import SqlStore, StoreBatch, open_store
from tests.store.factories import announcement


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


async def test_an_older_sqlite_store_gains_the_details_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with create_engine(f"sqlite:///{path}").begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE announcements (id VARCHAR(200) PRIMARY KEY, published_at_us BIGINT"
                " NOT NULL, published_at_precision VARCHAR(8) NOT NULL, source TEXT, issuer"
                " VARCHAR(2) NOT NULL, targets TEXT NOT NULL, sectors TEXT NOT NULL, action"
                " VARCHAR(16) NOT NULL, tariff_rate_pct FLOAT, previous_rate_pct FLOAT,"
                " effective_at VARCHAR(40), headline TEXT NOT NULL, url TEXT)"
            )
        )
    wanted = announcement("a1").model_copy(update={"supersedes": "a0"})
    async with await open_store(f"sqlite+aiosqlite:///{path}") as store:
        await store.write_batch(StoreBatch(announcements=[wanted]))
        got: Announcement | None = await store.get_announcement("a1")
    assert got == wanted
