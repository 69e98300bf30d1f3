"""The live path: ingest batches feed the reaction engine; each batch's events and the revisions
it caused are written to the store in one transaction, then published (Kafka, live clients)
before the batch counts as accepted, so its offsets are committed only after all of that."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from services.engine import Clock, ReactionEngine
from services.events import Signal
from services.ingest.types import IngestBatch
from services.live_metrics import LiveMetrics
from services.store.batch import StoreBatch
from services.store.types import ReactionWriter


class SignalPublisher(Protocol):
    async def publish(self, signals: Sequence[Signal]) -> None:
        """Returns once the signals are delivered (or queued for live clients)."""
        ...


class EngineSink:
    """A BatchSink around the engine. The engine is not re-entrant: one lock orders batches from
    both consumers and the idle timer, and keeps each reaction's revisions in cursor order."""

    def __init__(
        self,
        engine: ReactionEngine,
        store: ReactionWriter,
        publishers: Sequence[SignalPublisher],
        metrics: LiveMetrics,
        clock: Clock,
    ) -> None:
        """`clock` is the engine's: grace and staleness use its processing time."""
        self.engine = engine
        self._clock = clock
        self._store = store
        self._publishers = publishers
        self._metrics = metrics
        self._lock = asyncio.Lock()

    async def accept(self, batch: IngestBatch) -> None:
        async with self._lock:
            self._metrics.announcements_received(batch.announcements)
            signals: list[Signal] = []
            if batch.announcements:
                signals += self.engine.add_announcements(batch.announcements)
            if batch.prices.height:
                signals += self.engine.add_prices(batch.prices)
            batch_to_store = StoreBatch(batch.announcements, batch.prices, signals)
            await self._commit(batch_to_store, received_s=batch.received_s)

    async def idle(self) -> None:
        """Finalise windows whose market closed after its last event, once grace has passed."""
        async with self._lock:
            signals = self.engine.on_idle()
            if signals:
                await self._commit(StoreBatch(signals=signals), received_s=None)
            self._observe_engine()

    async def run_idle_timer(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            await self.idle()

    async def _commit(self, batch: StoreBatch, *, received_s: float | None) -> None:
        with self._metrics.store_write.time():
            stored = (await self._store.write_batch(batch)).signals
        for publisher in self._publishers:
            await publisher.publish(stored)
        self._metrics.published(stored, received_s=received_s)
        self._observe_engine()

    def _observe_engine(self) -> None:
        self._metrics.engine_state(
            self.engine.stats,
            self.engine.instrument_status(),
            now_s=self._clock.monotonic_s(),
        )
