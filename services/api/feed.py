"""The api role's view of the engines: every signal on `market.signals`, fed to the live hub.

Each api replica reads every partition without a consumer group (it must see every signal, and
must not join the engines' rebalances), starting at the end: history comes from the store."""

from __future__ import annotations

import asyncio
import logging

import orjson
from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError

from services.api.hub import SignalHub
from services.api.resume import RevisionLog, TagCache
from services.events import Signal

log = logging.getLogger(__name__)

POSITION_RETRY_S = 5.0


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
        self._positioned = False
        self._last_cursor = 0
        """The highest cursor handed to the hub (or stored before the start)."""

    @property
    def assigned(self) -> bool:
        return self._positioned and self._consumer is not None and bool(self._consumer.assignment())

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
        # before the Kafka positions: a revision stored after this is live, either from its
        # record or, published too early for the positions, through a hole it leaves
        self._last_cursor = await _latest_cursor(self._revisions)
        async with consumer:
            try:
                await self._settle_positions(consumer)
                while True:
                    polled = await consumer.getmany(timeout_ms=500, max_records=2000)
                    signals = [
                        signal
                        for batch in polled.values()
                        for record in batch
                        if (signal := _decode(record.value, record.offset)) is not None
                    ]
                    signals = await self._in_cursor_order(signals)
                    for announcement_id in {s.announcement_id for s in signals}:
                        await self._tags.load(announcement_id, self._revisions)
                    self._hub.publish(signals)
            finally:
                self._consumer = None
                self._positioned = False

    async def _settle_positions(self, consumer: AIOKafkaConsumer) -> None:
        """ "latest" is looked up lazily: settle it now, so that once `assigned` (ready) every
        signal published later reaches the hub. A lookup that does not answer in time (a topic
        whose leaders are still being elected) is asked again, and said in the log."""
        # aiokafka has no event for a group-less assignment (it follows the first metadata)
        while not consumer.assignment():  # noqa: ASYNC110
            await asyncio.sleep(POSITION_RETRY_S / 10)
        for partition in sorted(consumer.assignment()):
            while True:
                try:
                    await asyncio.wait_for(consumer.position(partition), POSITION_RETRY_S)
                    break
                except TimeoutError:
                    log.warning("no position for %s yet; asking again", partition)
                    await consumer.seek_to_end(partition)
        self._positioned = True
        log.info("signals feed positioned at the end of %d partitions", len(consumer.assignment()))

    async def _in_cursor_order(self, polled: list[Signal]) -> list[Signal]:
        """A poll's signals as clients must get them: in cursor order, without a hole, since
        they resume from the last cursor they saw. Kafka orders a partition, not the topic: a
        batch of the engine spans partitions, and a poll may hold later cursors of one before
        earlier ones of another. The store fills such a hole (the engine stores, then
        publishes); the hole's own records are skipped when they come."""
        last = self._last_cursor
        fresh = sorted((s for s in polled if _cursor(s) > last), key=_cursor)
        if not fresh:
            return []
        high = _cursor(fresh[-1])
        if high - last != len(fresh):
            stored = await self._revisions.revisions_after(last, limit=high - last)
            fresh = [s for s in stored if _cursor(s) <= high]
        self._last_cursor = high
        return fresh


def _cursor(signal: Signal) -> int:
    return -1 if signal.cursor is None else signal.cursor


async def _latest_cursor(log: RevisionLog) -> int:
    """The highest stored cursor (0: none), bisected with one-row reads of the log: a few
    dozen index seeks, once at the start."""
    low, high = 0, 1  # a cursor above `low` exists (or low is 0); none above `high`
    if not await log.revisions_after(0, limit=1):
        return 0
    while await log.revisions_after(high, limit=1):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if await log.revisions_after(middle, limit=1):
            low = middle
        else:
            high = middle
    return high


def _decode(value: bytes | None, offset: int) -> Signal | None:
    try:
        return Signal.model_validate(orjson.loads(value or b""))
    except (orjson.JSONDecodeError, ValidationError):
        log.exception("skipping an unreadable signal at offset %d", offset)
        return None
