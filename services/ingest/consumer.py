"""A batched, at-least-once Kafka consumer: poll, triage, hand to the sink, dead-letter, commit.

With `replay_on_assign`, every partition assigned is read again from the start of its retention
(the sink rebuilds its state from the exact inputs; what it sent before is restored from its
outputs), and the keys seen on partitions taken away are handed to the `PartitionOwner` so it
forgets them. aiokafka rebalances eagerly: every rebalance revokes all partitions and assigns
them anew, so each one replays the retained topic. That is the price of keeping no state but
Kafka and the store; it is fine for days of ticks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition

from services.events import Announcement
from services.ingest.decode import RejectReason, decode_announcement
from services.ingest.dedupe import RecentSet, announcement_identity
from services.ingest.dlq import DeadLetter, dlq_topic
from services.ingest.fastprice import PriceRow, decode_price_rows, rows_frame
from services.ingest.metrics import IngestMetrics
from services.ingest.triage import DecodeAll, each, triage
from services.ingest.types import BatchSink, IngestBatch

log = logging.getLogger(__name__)

E = TypeVar("E")


@dataclass(frozen=True, slots=True)
class EventKind(Generic[E]):
    """How one topic's records become a sink batch."""

    decode_all: DecodeAll[E]
    identity: Callable[[E], Hashable]
    to_batch: Callable[[list[E], list[int]], IngestBatch]
    """The valid events and their records' Kafka timestamps (epoch ms) become one batch."""


def _newest(keys: Iterable[str], arrived_ms: list[int]) -> dict[str, int]:
    newest: dict[str, int] = {}
    for key, ms in zip(keys, arrived_ms, strict=True):
        if ms > newest.get(key, -1):
            newest[key] = ms
    return newest


ANNOUNCEMENTS: EventKind[Announcement] = EventKind(
    each(decode_announcement),
    announcement_identity,
    lambda events, arrived: IngestBatch(
        announcements=events, arrived_ms=_newest((e.id for e in events), arrived)
    ),
)
PRICES: EventKind[PriceRow] = EventKind(
    decode_price_rows,
    lambda row: row,  # a row is its event's identity
    lambda rows, arrived: IngestBatch(
        prices=rows_frame(rows), arrived_ms=_newest((row[0] for row in rows), arrived)
    ),
)


class PartitionOwner(Protocol):
    """Told when partitions change hands between the members of a consumer group."""

    async def released(self, keys: set[str]) -> None:
        """Partitions were taken away; `keys` are the record keys seen on them."""
        ...

    async def acquired(self) -> None:
        """Partitions were assigned; called before any of their records is read."""
        ...


@dataclass(frozen=True, slots=True)
class ConsumerConfig:
    bootstrap_servers: str
    group_id: str
    max_records: int = 5000
    poll_timeout_ms: int = 200
    dedupe_capacity: int = 200_000
    client_id: str = "market-reaction"
    replay_on_assign: bool = False
    """Read every newly assigned partition from the start of its retention."""


class TopicConsumer(Generic[E]):
    """Reads one topic. Offsets are committed only after the sink accepted the batch and every
    dead letter of it was acknowledged by the broker, so a crash loses nothing accepted."""

    def __init__(
        self,
        topic: str,
        kind: EventKind[E],
        config: ConsumerConfig,
        sink: BatchSink,
        dlq_producer: AIOKafkaProducer,
        metrics: IngestMetrics,
        owner: PartitionOwner | None = None,
    ) -> None:
        """`owner` hears of rebalances (with `replay_on_assign` only: without a replay, a
        forgotten key could not be rebuilt)."""
        self.topic = topic
        self._kind = kind
        self._config = config
        self._sink = sink
        self._dlq = dlq_producer
        self._metrics = metrics
        self._seen = RecentSet(config.dedupe_capacity)
        self._consumer: AIOKafkaConsumer | None = None
        self._owner = owner if config.replay_on_assign else None
        self._keys: dict[TopicPartition, set[bytes]] = {}
        """Record keys seen per partition since it was assigned (the owner's instruments)."""
        self.lag: dict[int, int] = {}
        # every series exists from the start, so dashboards and rate() see zeros, not gaps
        metrics.consumed.labels(topic)
        metrics.duplicate.labels(topic)
        for reason in RejectReason:
            metrics.rejected.labels(topic, reason.value)

    @property
    def assigned(self) -> bool:
        return bool(self.partitions)

    @property
    def partitions(self) -> list[int]:
        """The partitions this member holds now (lag is known only once a fetch answered)."""
        if self._consumer is None:
            return []
        return sorted(tp.partition for tp in self._consumer.assignment())

    async def run(self) -> None:
        """Consume until cancelled."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._config.bootstrap_servers,
            group_id=self._config.group_id,
            client_id=self._config.client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        consumer.subscribe([self.topic], listener=_Rebalance(self, consumer))
        await consumer.start()
        self._consumer = consumer
        try:
            while True:
                polled = await consumer.getmany(
                    timeout_ms=self._config.poll_timeout_ms, max_records=self._config.max_records
                )
                if polled:
                    await self._process(consumer, polled)
                await self._observe_lag(consumer)
        finally:
            self._consumer = None
            await consumer.stop()

    async def _revoked(self, revoked: list[TopicPartition]) -> None:
        keys: set[bytes] = set()
        for tp in revoked:
            keys |= self._keys.pop(tp, set())
            # the partition's lag is its next owner's to report now
            if self.lag.pop(tp.partition, None) is not None:
                self._metrics.lag.remove(tp.topic, str(tp.partition))
        if self._owner is not None and keys:
            await self._owner.released({k.decode(errors="replace") for k in keys})

    async def _assigned(self, consumer: AIOKafkaConsumer, assigned: list[TopicPartition]) -> None:
        if not self._config.replay_on_assign or not assigned:
            return
        # nothing from the committed position may reach the sink before the replay starts:
        # it would move the watermark ahead and make the replayed records late
        consumer.pause(*assigned)
        try:
            if self._owner is not None:
                await self._owner.acquired()
            # replayed records are not duplicates: the sink forgot (or never had) their effect
            self._seen = RecentSet(self._config.dedupe_capacity)
            await consumer.seek_to_beginning(*assigned)
        finally:
            consumer.resume(*assigned)
        log.info("%s: replaying %d partitions from the start", self.topic, len(assigned))

    async def _process(
        self, consumer: AIOKafkaConsumer, polled: dict[TopicPartition, list[Any]]
    ) -> None:
        records = [record for batch in polled.values() for record in batch]
        if self._owner is not None:
            for tp, batch in polled.items():
                self._keys.setdefault(tp, set()).update({r.key for r in batch if r.key})
        result = triage(records, self._kind.decode_all, self._kind.identity, self._seen)
        if result.valid:
            await self._sink.accept(self._kind.to_batch(result.valid, result.arrived_ms))
        if result.dead:
            await self._dead_letter(result.dead)
        await consumer.commit({tp: batch[-1].offset + 1 for tp, batch in polled.items()})
        self._metrics.consumed.labels(self.topic).inc(result.consumed)
        if result.duplicates:
            self._metrics.duplicate.labels(self.topic).inc(result.duplicates)

    async def _dead_letter(self, dead: list[DeadLetter]) -> None:
        topic = dlq_topic(self.topic)
        acks = [
            await self._dlq.send(topic, value=d.value, key=d.key, headers=d.headers()) for d in dead
        ]
        await asyncio.gather(*acks)
        for d in dead:
            self._metrics.rejected.labels(self.topic, d.rejection.reason.value).inc()
            log.warning(
                "rejected %s[%d]@%d: %s (%s)",
                d.topic,
                d.partition,
                d.offset,
                d.rejection.reason.value,
                d.rejection.detail,
            )

    async def _observe_lag(self, consumer: AIOKafkaConsumer) -> None:
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            lag = max(0, highwater - await consumer.position(tp))
            self.lag[tp.partition] = lag
            self._metrics.lag.labels(tp.topic, str(tp.partition)).set(lag)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: TopicConsumer[Any], consumer: AIOKafkaConsumer) -> None:
        self._owner = owner
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._owner._revoked(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self._owner._assigned(self._consumer, assigned)
