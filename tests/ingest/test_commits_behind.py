"""The poll loop does not wait for the broker's answer to an offset commit: batches accepted
while one commit is in flight are read on, and committed together once it ends."""

from __future__ import annotations

import asyncio
import contextlib
from functools import partial

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client import CollectorRegistry

from services.ingest.consumer import PRICES, ConsumerConfig
from services.ingest.metrics import IngestMetrics
from services.ingest.topics import TopicSpec, ensure_topics
from tests.helpers import eventually
from tests.ingest.test_rebalance_mid_batch import GatedSink, HeldCommits, tick
from tests.kafka_broker import scratch_run


def read(sink: GatedSink, records: int) -> bool:
    return sink.prices == records


async def test_batches_are_read_on_while_a_commit_waits_and_committed_together(
    kafka_bootstrap: str,
) -> None:
    run = scratch_run()
    topic, group = f"test-{run}.prices", f"test-{run}"
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 1)])
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    sink = GatedSink()
    sink.release.set()
    config = ConsumerConfig(kafka_bootstrap, group)
    consumer = HeldCommits(
        topic, PRICES, config, sink, producer, IngestMetrics.create(CollectorRegistry())
    )
    reading = asyncio.create_task(consumer.run())
    observer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group)
    await observer.start()
    try:
        for second in range(3):
            await producer.send_and_wait(topic, tick("I0", second), partition=0)
            await eventually(partial(read, sink, second + 1), timeout_s=30, what="a record read")
        assert consumer.holding.is_set()  # since the first batch: the loop yielded to poll

        consumer.release.set()

        async def committed() -> bool:
            assert not reading.done(), reading.exception()
            offset: int | None = await observer.committed(TopicPartition(topic, 0))
            return offset == 3

        await eventually(committed, timeout_s=30, what="the three records committed")
    finally:
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading
        await observer.stop()
        await producer.stop()
