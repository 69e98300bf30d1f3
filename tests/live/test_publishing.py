"""A batch counts as accepted once stored (its revisions in the outbox); it is published while
the next batch is read, one batch in flight, and revisions leave in cursor order."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence

import pytest
from prometheus_client import CollectorRegistry

from services.events import Signal
from services.ingest.types import IngestBatch
from services.live.metrics import LiveMetrics
from services.live.pipeline import LivePipeline, latest_revisions
from services.store import SqlStore
from services.store.types import PublishOutbox
from tests.engine.helpers import kst, make_engine
from tests.factories import announcement, ticks
from tests.helpers import eventually

PREV_CLOSE = [(kst(2025, 7, 7, 15, 20), 99.0), (kst(2025, 7, 7, 15, 30), 100.0)]
OPENING = [(kst(2025, 7, 8, 9, 0), 101.0), (kst(2025, 7, 8, 9, 1), 99.5)]
NOON = [(kst(2025, 7, 8, 12, 0), 102.0)]
PUBLISHED = announcement("a1", kst(2025, 7, 8, 9, 0))


class GatedPublisher:
    """Delivers only once its gate is open, in the order it was handed batches."""

    name = "gated"

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.delivered: list[list[int]] = []
        self.handed: list[list[int]] = []
        """What the publisher was given, delivered or not yet."""

    async def publish(self, signals: Sequence[Signal]) -> None:
        self.handed.append([s.cursor for s in signals if s.cursor is not None])
        await self.gate.wait()
        self.delivered.append([s.cursor for s in signals if s.cursor is not None])


def gated(
    store: SqlStore, *, outbox: PublishOutbox | None, metrics: LiveMetrics | None = None
) -> tuple[LivePipeline, GatedPublisher]:
    """A pipeline publishing through a GatedPublisher (closed), with `outbox`."""
    engine, clock = make_engine()
    publisher = GatedPublisher()
    if metrics is None:
        metrics = LiveMetrics.create(CollectorRegistry())
    return LivePipeline(engine, store, [publisher], metrics, clock, outbox=outbox), publisher


async def held(store: SqlStore) -> list[int]:
    return [s.cursor for s in await store.unpublished(limit=1000) if s.cursor is not None]


async def test_batches_are_published_while_the_next_is_read_in_cursor_order(
    store: SqlStore,
) -> None:
    pipeline, publisher = gated(store, outbox=store)
    await pipeline.accept(IngestBatch([PUBLISHED], ticks("KOSPI", PREV_CLOSE)))

    # accepted while its publication waits: stored and held in the outbox
    await pipeline.accept(IngestBatch(prices=ticks("KOSPI", OPENING)))
    first = await held(store)
    assert first, "the opening ticks caused no revision: the test proves nothing"
    assert publisher.delivered == []

    # the next batch is stored, then waits for the first one's publication
    second = asyncio.create_task(pipeline.accept(IngestBatch(prices=ticks("KOSPI", NOON))))
    await eventually(
        lambda: _more_held(store, len(first)), timeout_s=30, what="the next batch stored"
    )
    assert not second.done()
    assert publisher.delivered == []

    publisher.gate.set()
    await asyncio.wait_for(second, timeout=30)
    await pipeline.settle()
    assert publisher.delivered[0] == first
    sent = [cursor for batch in publisher.delivered for cursor in batch]
    assert len(publisher.delivered) == 2
    assert sent == sorted(sent)
    assert await held(store) == []


async def test_a_batchs_publication_starts_before_the_next_batch_is_read(
    store: SqlStore,
) -> None:
    """A poll already fetched is returned without a pause of the event loop: a publication
    left for the loop to start waited for the next batch's triage and engine work."""
    pipeline, publisher = gated(store, outbox=store)
    await pipeline.accept(IngestBatch([PUBLISHED], ticks("KOSPI", PREV_CLOSE + OPENING)))
    handed = list(publisher.handed)  # as `accept` returned, before anything else awaits
    stored = await held(store)
    assert stored, "the ticks caused no revision: the test proves nothing"
    assert handed == [stored]
    assert publisher.delivered == []
    publisher.gate.set()
    await pipeline.settle()
    assert publisher.delivered == [stored]


async def _more_held(store: SqlStore, than: int) -> bool:
    return len(await held(store)) > than


async def test_closing_waits_for_the_batch_being_published(store: SqlStore) -> None:
    pipeline, publisher = gated(store, outbox=store)
    await pipeline.accept(IngestBatch([PUBLISHED], ticks("KOSPI", PREV_CLOSE + OPENING)))
    assert await held(store)

    publisher.gate.set()
    await pipeline.close(timeout_s=30)
    assert len(publisher.delivered) == 1
    assert await held(store) == []


async def test_closing_leaves_what_could_not_be_published_in_the_outbox(store: SqlStore) -> None:
    pipeline, publisher = gated(store, outbox=store)  # never opened: the broker does not answer
    await pipeline.accept(IngestBatch([PUBLISHED], ticks("KOSPI", PREV_CLOSE + OPENING)))
    stored = await held(store)

    await pipeline.close(timeout_s=0.1)
    assert publisher.delivered == []
    assert await held(store) == stored  # sent at the next start (publish_unpublished)


async def test_without_an_outbox_a_batch_is_published_before_it_counts_as_accepted(
    store: SqlStore,
) -> None:
    pipeline, publisher = gated(store, outbox=None)
    batch = IngestBatch([PUBLISHED], ticks("KOSPI", PREV_CLOSE + OPENING))
    accepting = asyncio.create_task(pipeline.accept(batch))
    await eventually(lambda: _stored(store), timeout_s=30, what="the batch stored")
    assert not accepting.done()  # nothing would send its revisions after a crash

    publisher.gate.set()
    await asyncio.wait_for(accepting, timeout=30)
    assert len(publisher.delivered) == 1


async def _stored(store: SqlStore) -> bool:
    return bool(await latest_revisions(store))


class Wall:
    def __init__(self, now_s: float) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s


class SlowRelease:
    """The store, whose outbox release takes `release_s` of the wall clock (as when it waits
    for the next batch's write)."""

    def __init__(self, store: SqlStore, wall: Wall, release_s: float) -> None:
        self._store, self._wall, self._release_s = store, wall, release_s

    async def unpublished(self, *, limit: int) -> list[Signal]:
        return await self._store.unpublished(limit=limit)

    async def mark_published(self, cursors: Collection[int]) -> None:
        self._wall.now_s += self._release_s
        await self._store.mark_published(cursors)


async def test_a_revision_is_timed_when_delivered_not_when_released_from_the_outbox(
    store: SqlStore,
) -> None:
    arrived_ms = 1_751_932_800_000
    wall = Wall(arrived_ms / 1000 + 0.05)  # delivered 50 ms after the tick reached Kafka
    registry = CollectorRegistry()
    metrics = LiveMetrics.create(registry, wall_s=wall)
    outbox = SlowRelease(store, wall, release_s=5.0)
    pipeline, publisher = gated(store, outbox=outbox, metrics=metrics)
    publisher.gate.set()
    await pipeline.accept(IngestBatch([PUBLISHED], ticks("KOSPI", PREV_CLOSE)))
    opening = IngestBatch(prices=ticks("KOSPI", OPENING), arrived_ms={"KOSPI": arrived_ms})
    await pipeline.accept(opening)
    await pipeline.settle()

    count = registry.get_sample_value("mr_tick_to_signal_seconds_count")
    total = registry.get_sample_value("mr_tick_to_signal_seconds_sum")
    assert count, "the opening ticks caused no revision: the test proves nothing"
    assert total == pytest.approx(0.05 * count)
    assert await held(store) == []  # released all the same


async def test_what_was_published_leaves_the_outbox_with_the_next_write(store: SqlStore) -> None:
    pipeline, publisher = gated(store, outbox=store)
    publisher.gate.set()
    await pipeline.accept(IngestBatch([PUBLISHED], ticks("KOSPI", PREV_CLOSE + OPENING)))
    first = await held(store)
    assert first, "the opening ticks caused no revision: the test proves nothing"
    await eventually(lambda: len(publisher.delivered) == 1, timeout_s=30, what="publication")
    assert await held(store) == first  # published, released by the next write

    await pipeline.accept(IngestBatch(prices=ticks("KOSPI", NOON)))
    second = await held(store)
    assert second, "the noon tick caused no revision: the test proves nothing"
    assert not set(first) & set(second)

    # nothing new: the idle timer releases what was published (once it is)
    await eventually(lambda: _idle_emptied(pipeline, store), timeout_s=30, what="an empty outbox")


async def _idle_emptied(pipeline: LivePipeline, store: SqlStore) -> bool:
    await pipeline.idle()
    return await held(store) == []
