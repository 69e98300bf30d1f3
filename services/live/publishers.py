"""Where stored revisions go: `market.signals` (keyed `announcement_id|instrument`, so every
revision of a reaction lands in one partition, in order) and this process's own live clients."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from services.api.hub import SignalHub
from services.api.resume import TagCache
from services.events import Signal, signal_key, signal_value
from services.ingest.types import BatchSink, IngestBatch


class KafkaSignalPublisher:
    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self._producer = producer
        self._topic = topic
        self.name = topic

    async def publish(self, signals: Sequence[Signal]) -> None:
        """Returns once the broker acknowledged every signal."""
        if not signals:
            return
        acks = [
            await self._producer.send(self._topic, key=signal_key(s), value=signal_value(s))
            for s in signals
        ]
        for ack in acks:
            await ack


class HubPublisher:
    """Hands stored revisions to the live clients of this process (role all)."""

    name = "live clients"

    def __init__(self, hub: SignalHub) -> None:
        self._hub = hub

    async def publish(self, signals: Sequence[Signal]) -> None:
        self._hub.publish(signals)


class RememberingSink:
    """Keeps the tags of every announcement for the live filters, then passes the batch on."""

    def __init__(self, inner: BatchSink, tags: TagCache) -> None:
        self._inner = inner
        self._tags = tags

    async def accept(self, batch: IngestBatch) -> None:
        self._tags.remember(batch.announcements)
        await self._inner.accept(batch)
