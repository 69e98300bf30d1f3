"""A TopicConsumer reading a fresh topic of the real broker, with its sink and offset commits
held where a test says."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from prometheus_client import CollectorRegistry

from services.ingest.consumer import PRICES, ConsumerConfig, TopicConsumer
from services.ingest.metrics import IngestMetrics
from services.ingest.topics import TopicSpec, ensure_topics
from services.ingest.types import IngestBatch
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


@dataclass(frozen=True)
class Reading:
    topic: str
    config: ConsumerConfig
    producer: AIOKafkaProducer
    sink: GatedSink
    consumer: HeldCommits
    running: asyncio.Task[None]

    async def send(self, partition: int, second: int) -> None:
        """A tick of instrument I<partition> on that partition, acknowledged."""
        await self.producer.send_and_wait(
            self.topic, tick(f"I{partition}", second), partition=partition
        )

    def still_reading(self) -> None:
        assert not self.running.done(), self.running.exception()


@contextlib.asynccontextmanager
async def reading(
    bootstrap: str, partitions: int, *, hold_batch: bool = False, hold_commits: bool = False
) -> AsyncIterator[Reading]:
    """A consumer of a new prices topic in a group of its own; with `hold_batch` its sink
    holds the first batch, with `hold_commits` no commit starts (until released)."""
    run = scratch_run()
    topic, group = f"test-{run}.prices", f"test-{run}"
    await ensure_topics(bootstrap, [TopicSpec(topic, partitions)])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    sink = GatedSink()
    config = ConsumerConfig(bootstrap, group, session_timeout_ms=30_000)
    consumer = HeldCommits(
        topic, PRICES, config, sink, producer, IngestMetrics.create(CollectorRegistry())
    )
    if not hold_batch:
        sink.release.set()
    if not hold_commits:
        consumer.release.set()
    running = asyncio.create_task(consumer.run())
    try:
        yield Reading(topic, config, producer, sink, consumer, running)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await producer.stop()
