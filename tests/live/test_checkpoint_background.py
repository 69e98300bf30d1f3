"""A periodic checkpoint is stored while the next batches are read: what it saves is the state
of the batch it was taken after (engine and dedupe window), never anything read since."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import datetime

import pytest
from prometheus_client import CollectorRegistry

from services.engine import ReactionEngine
from services.engine.history import I64, PriceStore
from services.frames import to_us
from services.ingest.fastprice import PriceRow
from services.ingest.types import IngestBatch, PartitionPosition
from services.live.checkpoints import CheckpointMetrics, EngineCheckpoints, unpack
from services.live.metrics import LiveMetrics
from services.live.pipeline import LivePipeline
from services.store import SqlStore
from services.store.checkpoints import Checkpoint, CheckpointStore
from tests.engine.helpers import kst, make_engine
from tests.factories import announcement, ticks

BATCH_N = [(kst(2025, 7, 7, 15, 20), 99.0), (kst(2025, 7, 7, 15, 30), 100.0)]
BATCH_N1 = [(kst(2025, 7, 8, 9, 0), 101.0)]


class GatedCheckpointStore(CheckpointStore):
    """The store's checkpoints, saved only once the gate opens (a slow store)."""

    def __init__(self, store: SqlStore) -> None:
        super().__init__(store.engine, "group", "prices")
        self.gate = asyncio.Event()
        self.saving = asyncio.Event()

    async def save(self, checkpoints: Sequence[Checkpoint], *, now: datetime) -> None:
        self.saving.set()
        await self.gate.wait()
        await super().save(checkpoints, now=now)


def gated_checkpoints(
    store: SqlStore,
) -> tuple[
    ReactionEngine, LivePipeline, GatedCheckpointStore, EngineCheckpoints, CollectorRegistry
]:
    """A pipeline over a fresh engine, and its checkpoints into a gated store (with their
    metrics' registry)."""
    engine, clock = make_engine()
    pipeline = LivePipeline(
        engine, store, [], LiveMetrics.create(CollectorRegistry()), clock, outbox=store
    )
    saved = GatedCheckpointStore(store)
    registry = CollectorRegistry()
    metrics = CheckpointMetrics.create(registry)
    checkpoints = EngineCheckpoints(pipeline, saved, metrics, clock, interval_s=30, batches=10)
    return engine, pipeline, saved, checkpoints, registry


def identities(prices: list[tuple[datetime, float]]) -> tuple[PriceRow, ...]:
    return tuple(("KOSPI", to_us(ts), p, None, None, None, None, None, None) for ts, p in prices)


async def test_a_checkpoint_stored_in_the_background_holds_only_what_came_before_it(
    store: SqlStore,
) -> None:
    engine, pipeline, saved, checkpoints, registry = gated_checkpoints(store)

    await pipeline.accept(
        IngestBatch([announcement("a1", kst(2025, 7, 8, 9, 0))], ticks("KOSPI", BATCH_N))
    )
    position = PartitionPosition(2, frozenset({"KOSPI"}), identities(BATCH_N))
    await checkpoints.save({0: position}, wait=False)
    await asyncio.wait_for(saved.saving.wait(), timeout=30)

    # the next batch is accepted while the checkpoint waits for the store
    await asyncio.wait_for(pipeline.accept(IngestBatch(prices=ticks("KOSPI", BATCH_N1))), 30)
    assert engine.watermark("KOSPI") == to_us(BATCH_N1[-1][0])
    assert await saved.load(0) is None

    saved.gate.set()
    await asyncio.wait_for(checkpoints.flush(), timeout=30)
    checkpoint = await saved.load(0)
    assert checkpoint is not None
    assert checkpoint.next_offset == 2
    state, recent = unpack(checkpoint.state)
    assert recent == list(identities(BATCH_N))  # not the next batch's identities

    # the engine state is batch N's: a fresh engine loaded from it has not seen batch N+1
    fresh, fresh_clock = make_engine()
    restored = LivePipeline(
        fresh, store, [], LiveMetrics.create(CollectorRegistry()), fresh_clock, outbox=store
    )
    assert await restored.load_snapshot(state) == ["KOSPI"]
    assert fresh.watermark("KOSPI") == to_us(BATCH_N[-1][0])
    assert registry.get_sample_value("mr_checkpoints_saved_total") == 1


async def test_a_save_that_waits_first_lets_the_one_in_the_background_finish(
    store: SqlStore,
) -> None:
    _, pipeline, saved, checkpoints, _ = gated_checkpoints(store)
    await pipeline.accept(IngestBatch(prices=ticks("KOSPI", BATCH_N)))
    await checkpoints.save({0: PartitionPosition(2, frozenset({"KOSPI"}))}, wait=False)
    await asyncio.wait_for(saved.saving.wait(), timeout=30)

    later = asyncio.create_task(
        checkpoints.save({0: PartitionPosition(3, frozenset({"KOSPI"}))}, wait=True)
    )
    saved.gate.set()
    await asyncio.wait_for(later, timeout=30)
    checkpoint = await saved.load(0)
    assert checkpoint is not None
    assert checkpoint.next_offset == 3  # stored in the order taken: the later one last


async def test_the_history_is_compacted_for_a_checkpoint_while_the_next_batch_runs(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The snapshot's history compaction (tens of ms on a day of ticks) ran with the engine
    locked, holding the next batch back; it runs beside it now, on a detached copy."""
    engine, pipeline, saved, checkpoints, _ = gated_checkpoints(store)
    saved.gate.set()
    compacting, resume = threading.Event(), threading.Event()
    compact = PriceStore.compact

    def held_compact(self: PriceStore, codes: I64) -> None:
        compacting.set()
        resume.wait(timeout=120)
        compact(self, codes)

    monkeypatch.setattr(PriceStore, "compact", held_compact)
    await pipeline.accept(IngestBatch(prices=ticks("KOSPI", BATCH_N)))
    saving = asyncio.create_task(
        checkpoints.save({0: PartitionPosition(2, frozenset({"KOSPI"}))}, wait=False)
    )
    try:
        assert await asyncio.to_thread(compacting.wait, 30)
        # the next batch is accepted while the compaction is held
        await asyncio.wait_for(pipeline.accept(IngestBatch(prices=ticks("KOSPI", BATCH_N1))), 20)
        assert engine.watermark("KOSPI") == to_us(BATCH_N1[-1][0])
    finally:
        resume.set()
    await asyncio.wait_for(saving, 30)
    await asyncio.wait_for(checkpoints.flush(), 30)
    checkpoint = await saved.load(0)
    assert checkpoint is not None
    fresh, fresh_clock = make_engine()
    restored = LivePipeline(
        fresh, store, [], LiveMetrics.create(CollectorRegistry()), fresh_clock, outbox=store
    )
    assert await restored.load_snapshot(unpack(checkpoint.state)[0]) == ["KOSPI"]
    assert fresh.watermark("KOSPI") == to_us(BATCH_N[-1][0])  # batch N's state, not N+1's
