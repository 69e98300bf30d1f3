"""A rebalance while a batch is in the sink, or after it was handed over and before its offsets
are committed: the batch's partitions may belong to another member by then. The consumer
commits only what it still owns and goes on; it used to fail on the commit and stop reading for
good (a replica that never caught up)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client import CollectorRegistry

from services.ingest.consumer import PRICES, ConsumerConfig, TopicConsumer
from services.ingest.metrics import IngestMetrics
from services.ingest.topics import TopicSpec, ensure_topics
from services.ingest.types import IngestBatch
from tests.helpers import eventually
from tests.ingest.test_static_membership import member
from tests.kafka_broker import scratch_run


class GatedSink:
    """Holds the first batch until `release` is set; counts the prices of every batch."""

    def __init__(self) -> None:
        self.holding = asyncio.Event()
        self.release = asyncio.Event()
        self.prices = 0

    async def accept(self, batch: IngestBatch) -> None:
        if not self.holding.is_set():
            self.holding.set()
            await self.release.wait()
        self.prices += batch.prices.height


class HeldCommits(TopicConsumer):
    """Starts no offset commit until `release` is set: the batches handed over meanwhile wait
    for theirs (as they do behind a slow commit or a commit's retry)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    async def _commit_accepted(self, consumer: AIOKafkaConsumer) -> None:
        self.holding.set()
        await self.release.wait()
        await super()._commit_accepted(consumer)


def tick(instrument: str, second: int) -> bytes:
    ts = f"2025-07-08T01:00:{second:02d}Z"
    return orjson.dumps({"instrument": instrument, "ts": ts, "price": 100.0 + second})


async def test_a_batch_whose_partition_moved_meanwhile_does_not_stop_the_consumer(
    kafka_bootstrap: str,
) -> None:
    run = scratch_run()
    topic, group = f"test-{run}.prices", f"test-{run}"
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 2)])
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    sink = GatedSink()
    config = ConsumerConfig(kafka_bootstrap, group, session_timeout_ms=30_000)
    consumer = TopicConsumer(
        topic, PRICES, config, sink, producer, IngestMetrics.create(CollectorRegistry())
    )
    reading = asyncio.create_task(consumer.run())
    try:
        # one record on each partition: the first batch holds both
        for partition in (0, 1):
            await producer.send_and_wait(topic, tick(f"I{partition}", 0), partition=partition)
        await asyncio.wait_for(sink.holding.wait(), timeout=60)
        async with member(config, topic) as other:
            # the group rebalanced while the batch waits: the other member took one partition
            await eventually(lambda: len(other.partitions) == 1, timeout_s=60, what="a split")
            sink.release.set()
            await eventually(
                lambda: len(consumer.partitions) == 1, timeout_s=30, what="this member's share"
            )
            # still reading: a new record on the partition it kept reaches the sink
            (partition,) = consumer.partitions
            before = sink.prices
            await producer.send_and_wait(topic, tick(f"I{partition}", 1), partition=partition)

            async def read_on() -> bool:
                assert not reading.done(), reading.exception()
                return sink.prices > before

            await eventually(read_on, timeout_s=60, what="the next record read")
    finally:
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading
        await producer.stop()


async def test_a_partition_moved_between_hand_over_and_commit_is_not_committed(
    kafka_bootstrap: str,
) -> None:
    run = scratch_run()
    topic, group = f"test-{run}.prices", f"test-{run}"
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 2)])
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    sink = GatedSink()
    sink.release.set()
    config = ConsumerConfig(kafka_bootstrap, group, session_timeout_ms=30_000)
    consumer = HeldCommits(
        topic, PRICES, config, sink, producer, IngestMetrics.create(CollectorRegistry())
    )
    reading = asyncio.create_task(consumer.run())
    try:
        for partition in (0, 1):
            await producer.send_and_wait(topic, tick(f"I{partition}", 0), partition=partition)
        # both records handed over (in one batch or two) and no commit started: whichever
        # partition the rebalance moves, a batch's offsets waiting for their commit hold it
        await eventually(
            lambda: sink.prices == 2 and consumer.holding.is_set(),
            timeout_s=60,
            what="both records handed over, a commit held",
        )
        async with member(config, topic) as other:
            await eventually(
                lambda: len(other.partitions) == len(consumer.partitions) == 1,
                timeout_s=60,
                what="a split",
            )
            (moved,) = other.partitions
            (kept,) = consumer.partitions
            consumer.release.set()
            await producer.send_and_wait(topic, tick(f"I{kept}", 1), partition=kept)

            async def committed_on() -> bool:
                assert not reading.done(), reading.exception()
                offset = await other.consumer.committed(TopicPartition(topic, kept))
                return sink.prices == 3 and offset == 2

            await eventually(committed_on, timeout_s=60, what="the next record read, committed")
            assert await other.consumer.committed(TopicPartition(topic, moved)) is None
    finally:
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading
        await producer.stop()
