"""The api role's view of the engines: every signal on `market.signals`, fed to the live hub.

Each api replica reads every partition without a consumer group (it must see every signal, and
must not join the engines' rebalances), starting at the end: history comes from the store."""

from __future__ import annotations

import logging

import orjson
from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError

from services.api.hub import SignalHub
from services.api.resume import RevisionLog, TagCache
from services.events import Signal

log = logging.getLogger(__name__)


class SignalFeed:
    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        hub: SignalHub,
        tags: TagCache,
        revisions: RevisionLog,
    ) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._topic = topic
        self._hub = hub
        self._tags = tags
        self._revisions = revisions
        self._consumer: AIOKafkaConsumer | None = None

    @property
    def assigned(self) -> bool:
        return self._consumer is not None and bool(self._consumer.assignment())

    async def run(self) -> None:
        """Consume until cancelled."""
        consumer = AIOKafkaConsumer(
            self._topic,
            bootstrap_servers=self._bootstrap_servers,
            group_id=None,  # no group: every partition is this replica's, from the end
            enable_auto_commit=False,
            auto_offset_reset="latest",
        )
        self._consumer = consumer
        await consumer.start()
        try:
            while True:
                polled = await consumer.getmany(timeout_ms=500, max_records=2000)
                signals = [
                    signal
                    for batch in polled.values()
                    for record in batch
                    if (signal := _decode(record.value, record.offset)) is not None
                ]
                for announcement_id in {s.announcement_id for s in signals}:
                    await self._tags.load(announcement_id, self._revisions)
                self._hub.publish(signals)
        finally:
            self._consumer = None
            await consumer.stop()


def _decode(value: bytes | None, offset: int) -> Signal | None:
    try:
        return Signal.model_validate(orjson.loads(value or b""))
    except (orjson.JSONDecodeError, ValidationError):
        log.exception("skipping an unreadable signal at offset %d", offset)
        return None
