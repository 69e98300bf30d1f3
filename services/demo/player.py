"""`market-reaction simulate`: plays a scenario into Kafka at a chosen speed-up, or writes it as
the JSON-lines files that `market-reaction replay` reads."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer

from services.demo.scenario import Scenario
from services.engine.registry import load_registry
from services.events import Announcement, Price
from services.ingest.partitioning import BenchmarkGroupPartitioner
from services.settings import Settings

ScenarioEvent = Announcement | Price


def _when(event: ScenarioEvent) -> datetime:
    return event.published_at if isinstance(event, Announcement) else event.ts


def _line(event: ScenarioEvent) -> bytes:
    return orjson.dumps(event.model_dump(mode="json", exclude_none=True))


def write_files(scenario: Scenario, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    announcements = folder / "announcements.jsonl"
    prices = folder / "prices.jsonl"
    announcements.write_bytes(b"".join(_line(a) + b"\n" for a in scenario.announcements))
    prices.write_bytes(b"".join(_line(p) + b"\n" for p in scenario.history + scenario.live))
    return announcements, prices


async def play(
    scenario: Scenario,
    settings: Settings,
    *,
    speedup: float,
    max_gap_s: float = 2.0,
    progress: bool = True,
) -> int:
    """Send the history at once, then announcements and ticks in event-time order, paced so
    that event time runs `speedup` times faster than the wall clock (closures are shortened to
    `max_gap_s`). `speedup` of 0 sends everything at once. Returns the events sent."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        linger_ms=10,
        # a dependent instrument's ticks go to its benchmark's partition (one replica sees both)
        partitioner=BenchmarkGroupPartitioner(load_registry(settings.instruments_file)),
    )
    async with producer:
        await _send(producer, settings, scenario.history)
        timeline: list[ScenarioEvent] = sorted([*scenario.announcements, *scenario.live], key=_when)
        sent = len(scenario.history)
        due_s = 0.0
        started = time.monotonic()
        previous = _when(timeline[0]) if timeline else None
        chunk: list[ScenarioEvent] = []
        for event in timeline:
            assert previous is not None
            if speedup > 0:
                due_s += min((_when(event) - previous).total_seconds() / speedup, max_gap_s)
            previous = _when(event)
            wait_s = started + due_s - time.monotonic()
            if wait_s > 0.02:
                sent += await _send(producer, settings, chunk)
                chunk = []
                if progress:
                    print(f"simulate: {previous.isoformat()} ({sent:,} events sent)", flush=True)
                await asyncio.sleep(wait_s)
            chunk.append(event)
        sent += await _send(producer, settings, chunk)
        return sent


async def _send(
    producer: AIOKafkaProducer, settings: Settings, events: Iterable[ScenarioEvent]
) -> int:
    acks = []
    for event in events:
        if isinstance(event, Announcement):
            topic, key = settings.announcements_topic, event.id
        else:
            topic, key = settings.prices_topic, event.instrument
        acks.append(await producer.send(topic, key=key.encode(), value=_line(event)))
    for ack in acks:
        await ack
    return len(acks)
