"""Benchmarks everywhere they are needed, on the real broker and a shared PostgreSQL store: three
`engine` processes split a 3-partition `market.prices`, and the two stocks benchmarked to KOSPI
(Hyundai Motor, POSCO) are produced with the benchmark-group partitioner. By Kafka's default
partitioner Hyundai Motor would land on another partition than KOSPI, so its replica would have
no benchmark and give a null abnormal return; grouped, every reaction equals the single-process
`replay`'s, abnormal returns included, each stored once."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from aiokafka.partitioner import DefaultPartitioner

from services.demo.player import play
from services.demo.scenario import Scenario, benchmark_story
from services.engine.registry import load_registry
from services.ingest.dlq import dlq_topic
from services.ingest.partitioning import BenchmarkGroupPartitioner
from services.ingest.topics import TopicSpec, ensure_topics
from services.settings import Settings
from tests.helpers import eventually
from tests.processes import Service, metric, owned_partitions, readyz, service_env, start
from tests.reactions import assert_stored_as_replayed, replayed, stored_log

pytestmark = pytest.mark.kafka

PARTITIONS = 3
REPLICAS = 3
DEPENDENTS = ("005380.KS", "005490.KS")


async def test_three_engines_every_dependent_has_its_benchmark(
    kafka_settings: Settings, postgres_url: str, tmp_path: Path
) -> None:
    started_at = time.monotonic()
    scenario = benchmark_story(seed=5, tick_s=30)
    replay = replayed(scenario, tmp_path)
    dependent_keys = [k for k in replay if k[1] in DEPENDENTS]
    assert dependent_keys, "replay produced no reaction of a dependent"
    # where one process gives a number, the replicas must too
    assert all(replay[k]["abnormal_return_pct"] is not None for k in dependent_keys)
    grouped = BenchmarkGroupPartitioner(load_registry())
    every = list(range(PARTITIONS))
    split_by_default = {
        d
        for d in DEPENDENTS
        if DefaultPartitioner()(d.encode(), every, every)
        != DefaultPartitioner()(b"KOSPI", every, every)
    }
    assert split_by_default, "the test must put a dependent away from KOSPI by default"
    kospi_partition = grouped.partition_of("KOSPI", PARTITIONS)

    s = kafka_settings.model_copy(
        update={"database_url": postgres_url, "prices_topic": f"{kafka_settings.prices_topic}.p3"}
    )
    await ensure_topics(
        s.kafka_bootstrap,
        [TopicSpec(s.prices_topic, PARTITIONS), TopicSpec(dlq_topic(s.prices_topic), 1)],
    )
    engines: list[Service] = []
    timings: dict[str, float] = {}
    try:
        for n in range(REPLICAS):
            name = f"engine-{n}"
            engines.append(await start("engine", name, service_env(s, name), tmp_path))
        async with httpx.AsyncClient(timeout=10) as http:
            assigned: dict[str, set[int]] = {}

            async def one_partition_each() -> bool:
                for engine in engines:
                    owned = await owned_partitions(http, engine, s)
                    if owned is None:
                        return False
                    assigned[engine.name] = owned
                return sorted(len(p) for p in assigned.values()) == [1] * REPLICAS and set().union(
                    *assigned.values()
                ) == set(every)

            await eventually(one_partition_each, timeout_s=60, what="3 engines, 1 partition each")
            timings["ready"] = time.monotonic() - started_at
            kospi_owner = next(e for e in engines if kospi_partition in assigned[e.name])

            await play(Scenario(scenario.announcements, [], []), s, speedup=0, progress=False)

            async def letter_consumed() -> bool:
                for engine in engines:
                    topic = s.announcements_topic
                    if await metric(http, engine, "mr_events_consumed_total", topic=topic) != 1:
                        return False
                return True

            await eventually(letter_consumed, timeout_s=30, what="the letter consumed")
            await play(Scenario([], scenario.history, scenario.live), s, speedup=0, progress=False)
            timings["sent"] = time.monotonic() - started_at

            async def all_final() -> bool:
                for engine in engines:
                    assert await readyz(http, engine) is not None, engine.name
                latest, _ = await stored_log(s)
                return latest.keys() == replay.keys() and all(v.final for v in latest.values())

            await eventually(all_final, timeout_s=120, what="every reaction final in the store")
            timings["all final"] = time.monotonic() - started_at
            # the dependents' ticks went to KOSPI's replica only
            for engine in engines:
                consumed = [
                    await metric(http, engine, "mr_signals_emitted_total", instrument=d)
                    for d in DEPENDENTS
                ]
                assert (engine is kospi_owner) == all(c > 0 for c in consumed), (
                    engine.name,
                    consumed,
                )
    finally:
        for engine in engines:
            await engine.stop()
    print(f"timings (s): {timings}; partitions {assigned}; KOSPI on {kospi_partition}")

    latest, _ = await stored_log(s)
    nulls = [k for k in dependent_keys if latest[k].abnormal_return_pct is None]
    assert not nulls, f"null abnormal returns where replay has a number: {nulls}"
    await assert_stored_as_replayed(s, replay)
