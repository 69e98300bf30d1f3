"""The next poll is triaged while the last batch is in the sink (its store write), so its
identities are in the dedupe window before that batch's offsets are recorded. A checkpoint
saved meanwhile (here by a rebalance) must hold only what its offset covers: with the next
poll's identities in it, a restart from it would drop that poll's records as duplicates."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer, TopicPartition
from prometheus_client import CollectorRegistry

from services.ingest.consumer import PRICES, ConsumerConfig, TopicConsumer, TriagePoll
from services.ingest.metrics import IngestMetrics
from services.ingest.plausibility import EventTimeBounds
from services.ingest.recentrows import RecentRows
from services.ingest.topics import TopicSpec, ensure_topics
from services.ingest.triage import BatchTriage, RawRecord
from services.ingest.types import IngestBatch, PartitionPosition
from tests.helpers import eventually
from tests.ingest.test_static_membership import member

FIRST, SECOND = "2025-07-08T01:00:00Z", "2025-07-08T01:00:01Z"


class GatedSink:
    """Holds the first batch until `release` is set; keeps the tick times of every batch."""

    def __init__(self) -> None:
        self.holding = asyncio.Event()
        self.release = asyncio.Event()
        self.ticks: list[str] = []

    async def accept(self, batch: IngestBatch) -> None:
        if not self.holding.is_set():
            self.holding.set()
            await self.release.wait()
        self.ticks += [ts.strftime("%Y-%m-%dT%H:%M:%SZ") for ts in batch.prices["ts"]]


class Owner:
    async def released(self, keys: set[str]) -> None:
        pass

    async def acquired(self) -> None:
        pass


class Checkpoints:
    """In memory: the last position saved per partition, restored on assignment."""

    def __init__(self) -> None:
        self.saved: dict[int, PartitionPosition] = {}

    def due(self) -> bool:
        return False

    async def restore(self, topic: str, partition: int) -> PartitionPosition | None:
        return self.saved.get(partition)

    async def save(self, positions: dict[int, PartitionPosition], *, wait: bool = True) -> None:
        self.saved.update(positions)


class CountedTriage:
    """The prices' triage, counting the polls it judged."""

    def __init__(self) -> None:
        self.polls = 0

    def __call__(
        self, records: Sequence[RawRecord], seen: RecentRows, bounds: EventTimeBounds
    ) -> BatchTriage:
        self.polls += 1
        return PRICES.triage(records, seen, bounds)


class WatchedConsumer(TopicConsumer):
    """Says when a rebalance starts taking its partitions away."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.revoking = asyncio.Event()

    async def _revoked(self, revoked: list[TopicPartition]) -> None:
        if revoked:
            self.revoking.set()
        await super()._revoked(revoked)


def tick(ts: str) -> bytes:
    return orjson.dumps({"instrument": "KOSPI", "ts": ts, "price": 100.0})


async def test_a_checkpoint_taken_while_the_next_poll_waits_holds_only_what_it_covers(
    kafka_bootstrap: str,
) -> None:
    run = uuid.uuid4().hex[:10]
    topic, group = f"test-{run}.prices", f"test-{run}"
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 2)])
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    sink, checkpoints, triage = GatedSink(), Checkpoints(), CountedTriage()
    config = ConsumerConfig(
        kafka_bootstrap, group, session_timeout_ms=30_000, replay_on_assign=True
    )
    consumer = WatchedConsumer(
        topic,
        TriagePoll(triage, PRICES.window),
        config,
        sink,
        producer,
        IngestMetrics.create(CollectorRegistry()),
        Owner(),
        checkpoints,
    )
    await producer.start()
    reading = asyncio.create_task(consumer.run())
    try:
        await producer.send_and_wait(topic, tick(FIRST), partition=0)
        await asyncio.wait_for(sink.holding.wait(), timeout=60)
        # the first batch waits in the sink; the second is polled and triaged meanwhile
        await producer.send_and_wait(topic, tick(SECOND), partition=0)
        await eventually(lambda: triage.polls == 2, timeout_s=60, what="the second poll")
        async with member(config, topic):
            # the rebalance's checkpoint waits for the first batch's offsets
            await asyncio.wait_for(consumer.revoking.wait(), timeout=60)
            sink.release.set()
            await eventually(lambda: 0 in checkpoints.saved, timeout_s=60, what="a checkpoint")
            saved = checkpoints.saved[0]
            assert saved.next_offset == 1
            assert isinstance(saved.recent, type(RecentRows(1).tagged(0)))
            assert saved.recent["ts"].to_list() == [1751936400000000]  # FIRST only
        # back to one member: the second tick is read again from the checkpoint, and reaches
        # the sink once (the poll triaged before the rebalance is not delivered as well)
        await eventually(lambda: SECOND in sink.ticks, timeout_s=90, what="the second tick")
        assert not reading.done(), reading.exception()
        assert sink.ticks.count(SECOND) == 1
        assert sink.ticks.count(FIRST) == 1
    finally:
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading
        await producer.stop()
