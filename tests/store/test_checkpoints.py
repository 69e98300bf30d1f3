"""Engine checkpoints in the store, on SQLite and PostgreSQL: one row per group, topic and
partition, replaced whole; several saved in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime

from services.store import SqlStore
from services.store.checkpoints import Checkpoint, CheckpointStore

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
LATER = datetime(2026, 1, 2, 3, 5, 0, tzinfo=UTC)


async def test_saved_checkpoints_load_back_by_partition(store: SqlStore) -> None:
    checkpoints = CheckpointStore(store.engine, "group", "market.prices")
    state = bytes(range(256)) * 1000  # binary, with NULs, 256 kB
    await checkpoints.save([Checkpoint(0, 120, state), Checkpoint(2, 7, b"\x00")], now=NOW)
    assert await checkpoints.load(0) == Checkpoint(0, 120, state, NOW)
    assert await checkpoints.load(2) == Checkpoint(2, 7, b"\x00", NOW)
    assert await checkpoints.load(1) is None


async def test_a_later_checkpoint_replaces_the_partitions_row(store: SqlStore) -> None:
    checkpoints = CheckpointStore(store.engine, "group", "market.prices")
    await checkpoints.save([Checkpoint(0, 120, b"old"), Checkpoint(1, 5, b"one")], now=NOW)
    await checkpoints.save([Checkpoint(0, 300, b"new")], now=LATER)
    assert await checkpoints.load(0) == Checkpoint(0, 300, b"new", LATER)
    assert await checkpoints.load(1) == Checkpoint(1, 5, b"one", NOW)


async def test_groups_and_topics_do_not_share_checkpoints(store: SqlStore) -> None:
    mine = CheckpointStore(store.engine, "group", "market.prices")
    await mine.save([Checkpoint(0, 1, b"mine")], now=NOW)
    await mine.save([], now=NOW)  # nothing to save: no statement, no error
    assert await CheckpointStore(store.engine, "other", "market.prices").load(0) is None
    assert await CheckpointStore(store.engine, "group", "other.prices").load(0) is None
    assert await mine.load(0) == Checkpoint(0, 1, b"mine", NOW)
