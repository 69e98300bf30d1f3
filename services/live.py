"""The live path: ingest batches feed the reaction engine; every revision it emits is published
before the batch counts as accepted (so its offsets are committed only after)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from services.engine import ReactionEngine
from services.events import Signal
from services.ingest.types import IngestBatch

log = logging.getLogger(__name__)


class SignalPublisher(Protocol):
    async def publish(self, signals: Sequence[Signal]) -> None: ...


class EngineSink:
    """A BatchSink around the engine. The engine is not re-entrant: one lock orders batches from
    both consumers and the idle timer, and keeps each reaction's revisions in order."""

    def __init__(self, engine: ReactionEngine, publisher: SignalPublisher) -> None:
        self.engine = engine
        self._publisher = publisher
        self._lock = asyncio.Lock()

    async def accept(self, batch: IngestBatch) -> None:
        async with self._lock:
            signals: list[Signal] = []
            if batch.announcements:
                signals += self.engine.add_announcements(batch.announcements)
            if batch.prices.height:
                signals += self.engine.add_prices(batch.prices)
            await self._publisher.publish(signals)

    async def idle(self) -> None:
        """Finalise windows whose market closed after its last event, once grace has passed."""
        async with self._lock:
            await self._publisher.publish(self.engine.on_idle())

    async def run_idle_timer(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            await self.idle()
