"""Ingest throughput from the real broker: price events/s through poll, decode, validation,
deduplication and the polars batch, into a sink that only counts.

Run with the broker up (`make bench` starts it): .venv/bin/python benchmarks/bench_ingest.py
    [--events 100000,2000000] [--rounds 3]

The events are produced once; each round reads them with a new consumer group. The default
sizes are half the dedupe window and ten times it, so its eviction cost shows.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import time
import uuid
from asyncio.subprocess import PIPE
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scratch_topics import delete_run_topics
from spread import spread

from services.ingest.consumer import PRICES, ConsumerConfig, TopicConsumer
from services.ingest.metrics import IngestMetrics
from services.ingest.topics import TopicSpec, ensure_topics
from services.ingest.types import IngestBatch

DEDUPE_WINDOW = ConsumerConfig("", "").dedupe_capacity
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


async def consume(bootstrap: str, topic: str, n: int, max_records: int) -> tuple[float, float]:
    """Events/s from first record to the n-th, and including start and group join."""
    sink = CountingSink(n)
    config = ConsumerConfig(bootstrap, f"{topic}-{uuid.uuid4().hex[:8]}", max_records=max_records)
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
    return sink.count / (finished - sink.first_at), sink.count / (finished - started)


async def main(bootstrap: str, sizes: list[int], max_records: int, rounds: int) -> None:
    run = uuid.uuid4().hex[:8]
    topic = f"bench-{run}.prices"
    await ensure_topics(bootstrap, [TopicSpec(topic, 6), TopicSpec(f"{topic}.dlq", 1)])
    try:
        values = events(max(sizes))
        t0 = time.perf_counter()
        await produce(bootstrap, topic, values)
        print(f"produced {len(values):,} price events in {time.perf_counter() - t0:.2f}s")
        print(
            f"ingest, batches of up to {max_records}, dedupe window {DEDUPE_WINDOW:,}, "
            f"{rounds} rounds, min / median / max events/s:"
        )
        for n in sizes:
            steady: list[float] = []
            with_join: list[float] = []
            for _ in range(rounds):
                s, j = await consume(bootstrap, topic, n, max_records)
                steady.append(s)
                with_join.append(j)
            print(
                f"  {n:>9,} events ({n / DEDUPE_WINDOW:.1f}x the window): {spread(steady)} "
                f"from first record to last; {spread(with_join)} including start and group join",
                flush=True,
            )

    finally:
        await delete_run_topics(bootstrap, run)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", default="127.0.0.1:19092")
    parser.add_argument(
        "--events",
        default=f"{DEDUPE_WINDOW // 2},{DEDUPE_WINDOW * 10}",
        help="comma-separated sizes; past the dedupe window's capacity shows its eviction cost",
    )
    parser.add_argument("--max-records", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(n) for n in args.events.split(",")]
    asyncio.run(main(args.bootstrap, sizes, args.max_records, args.rounds))
