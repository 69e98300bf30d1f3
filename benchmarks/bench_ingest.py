"""Ingest throughput from the real broker: price events/s through poll, decode, validation,
deduplication and the polars batch, into a sink that only counts.

Run with the broker up (`make bench` starts it): .venv/bin/python benchmarks/bench_ingest.py
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import time
import uuid
from asyncio.subprocess import PIPE

import orjson
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry

from services.ingest.consumer import PRICES, ConsumerConfig, TopicConsumer
from services.ingest.metrics import IngestMetrics
from services.ingest.types import IngestBatch
from services.topics import TopicSpec, ensure_topics

INSTRUMENTS = ("KOSPI", "KOSDAQ", "USDKRW", "005380.KS", "005490.KS")


class CountingSink:
    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.first_at: float | None = None
        self.done = asyncio.Event()

    async def accept(self, batch: IngestBatch) -> None:
        self.first_at = self.first_at or time.perf_counter()
        self.count += len(batch)
        if self.count >= self.expected:
            self.done.set()


def events(n: int) -> list[bytes]:
    start = 1_751_932_800  # 2025-07-08T00:00:00Z
    return [
        orjson.dumps(
            {
                "instrument": INSTRUMENTS[i % 5],
                "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + i // 5))
                if i % 7
                else f"2025-07-08T00:00:00.{i % 1000:03d}Z",
                "price": 3000 + (i % 997) / 10,
                "volume": i % 50,
            }
        )
        for i in range(n)
    ]


async def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    kcat = shutil.which("kcat")
    if kcat:
        process = await asyncio.create_subprocess_exec(
            kcat, "-P", "-b", bootstrap, "-t", topic, "-X", "linger.ms=20", stdin=PIPE
        )
        await process.communicate(b"\n".join(values) + b"\n")
        if process.returncode:
            raise RuntimeError(f"kcat exited with {process.returncode}")
        return
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20)
    await producer.start()
    try:
        for value in values:
            await producer.send(topic, value)
        await producer.flush()
    finally:
        await producer.stop()


async def main(bootstrap: str, n: int, max_records: int) -> None:
    run = uuid.uuid4().hex[:8]
    topic = f"bench-{run}.prices"
    await ensure_topics(bootstrap, [TopicSpec(topic, 6), TopicSpec(f"{topic}.dlq", 1)])
    values = events(n)
    t0 = time.perf_counter()
    await produce(bootstrap, topic, values)
    print(f"produced {n:,} price events in {time.perf_counter() - t0:.2f}s")

    sink = CountingSink(n)
    config = ConsumerConfig(bootstrap, f"bench-{run}", max_records=max_records)
    dlq = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await dlq.start()
    consumer = TopicConsumer(
        topic, PRICES, config, sink, dlq, IngestMetrics.create(CollectorRegistry())
    )
    started = time.perf_counter()
    task = asyncio.create_task(consumer.run())
    await sink.done.wait()
    finished = time.perf_counter()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await dlq.stop()
    assert sink.first_at is not None
    steady = finished - sink.first_at
    print(
        f"ingest: {sink.count:,} events, batches of up to {max_records}: "
        f"{sink.count / steady:,.0f} events/s from first record to last ({steady:.2f}s); "
        f"{sink.count / (finished - started):,.0f} events/s including start and group join"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", default="127.0.0.1:19092")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--max-records", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(main(args.bootstrap, args.events, args.max_records))
