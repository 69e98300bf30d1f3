"""A benchmark run's Kafka topics (`bench-<run>.*`), deleted when the run ends: records left by
earlier runs (gigabytes after a few `make bench`, thousands of partitions) would stay in the
broker that the next run measures."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from services.ingest.topics import TopicSpec, delete_scratch_topics, ensure_topics


@contextmanager
def run_topics(bootstrap: str, run: str) -> Iterator[dict[str, str]]:
    """`bench-<run>.announcements`, `.prices` (6 partitions), `.signals` (3) and the two
    dead-letter topics, by kind; on leaving, every topic named `bench-<run>.*` (the ones a
    peer wrote to beside them included) is deleted."""
    topics = {k: f"bench-{run}.{k}" for k in ("announcements", "prices", "signals")}
    specs = [TopicSpec(topics["announcements"], 1), TopicSpec(topics["prices"], 6)]
    specs += [TopicSpec(f"{topics[k]}.dlq", 1) for k in ("announcements", "prices")]
    asyncio.run(ensure_topics(bootstrap, [*specs, TopicSpec(topics["signals"], 3)]))
    try:
        yield topics
    finally:
        asyncio.run(delete_run_topics(bootstrap, run))


async def delete_run_topics(bootstrap: str, run: str) -> None:
    """Deletes every topic named `bench-<run>.*`."""
    await delete_scratch_topics(bootstrap, [f"bench-{run}."])
