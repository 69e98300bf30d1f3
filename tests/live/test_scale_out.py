"""Scaled out on the real broker and a shared PostgreSQL store (DESIGN §2): two `engine` processes
share `market.prices` through one consumer group, one `api` process serves the live WebSocket.
One engine is killed (SIGKILL) in the middle of the seed story; after the group's rebalance the
other takes its instruments over, restoring what was sent from the store and replaying the
topics. Every reaction still becomes final, once, in the store and at a subscriber that connected
with `?cursor=0` before the story began, and the finals equal `replay`'s."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiokafka.partitioner import DefaultPartitioner
from websockets.asyncio.client import connect

from services.demo.player import play
from services.demo.scenario import Scenario, seed_story
from services.events import Signal
from services.ingest.dlq import dlq_topic
from services.ingest.topics import TopicSpec, ensure_topics
from services.settings import Settings
from tests.helpers import eventually
from tests.processes import Service, log_tail, metric, owned_partitions, readyz, service_env, start
from tests.reactions import (
    assert_stored_as_replayed,
    comparable,
    reaction_key,
    replayed,
    stored_log,
)

pytestmark = pytest.mark.kafka

PRICE_PARTITIONS = 3
"""Not the service's 6: aiokafka assigns round-robin, so two members split 6 partitions into odd
and even ones, and murmur2 puts KOSPI (1), KOSDAQ (3) and USDKRW (3) all on odd ones: one engine
would own every instrument of the story and the other idle. With 3 partitions each engine owns
some (KOSPI: 1; KOSDAQ, USDKRW: 0), so both write to the store and publish concurrently before
the kill, and the survivor hands over its own instruments to itself in the rebalance too."""


@dataclass
class Subscriber:
    """A desk's WebSocket client (the `websockets` library): every signal, in arrival order."""

    url: str
    signals: list[dict[str, Any]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        async with connect(self.url) as ws:
            async for text in ws:
                payload = orjson.loads(text)
                if payload != {"heartbeat": True}:
                    self.signals.append(payload)

    def received(self) -> int:
        assert self.task is not None
        if self.task.done():  # the server closed the stream, or the reader failed: say which
            self.task.result()
            raise AssertionError("the api closed the subscriber's WebSocket")
        return len(self.signals)


def instruments_of(partitions: set[int], instruments: Iterable[str], count: int) -> set[str]:
    """The instruments keyed onto `partitions` (the producer's default partitioner)."""
    partitioner = DefaultPartitioner()
    every = list(range(count))
    return {i for i in instruments if partitioner(i.encode(), every, every) in partitions}


async def test_two_engines_one_killed_every_final_reaction_once(
    kafka_settings: Settings, postgres_url: str, tmp_path: Path
) -> None:
    started_at = time.monotonic()
    scenario = seed_story(seed=11)
    replay = replayed(scenario, tmp_path)
    assert replay, "replay produced no reaction"
    routed = {str(instrument) for _, instrument, _ in replay}
    # SQLite is not for several writers: the replicas share one PostgreSQL database
    s = kafka_settings.model_copy(
        update={"database_url": postgres_url, "prices_topic": f"{kafka_settings.prices_topic}.p3"}
    )
    partitions = PRICE_PARTITIONS
    topics = [TopicSpec(s.prices_topic, partitions), TopicSpec(dlq_topic(s.prices_topic), 1)]
    await ensure_topics(s.kafka_bootstrap, topics)
    split = len(scenario.live) // 2  # the middle of the third session after the letter
    first, rest = scenario.live[:split], scenario.live[split:]

    services: list[Service] = []
    subscriber: Subscriber | None = None
    timings: dict[str, float] = {}
    try:
        for name, role in (("engine-a", "engine"), ("engine-b", "engine"), ("api", "api")):
            services.append(await start(role, name, service_env(s, name), tmp_path))
        engines, api = services[:2], services[2]

        async with httpx.AsyncClient(timeout=10) as http:
            assigned: dict[str, set[int]] = {}

            async def all_ready_and_split() -> bool:
                for service in services:
                    if await readyz(http, service) is None:
                        return False
                for engine in engines:
                    owned = await owned_partitions(http, engine, s)
                    if owned is None:
                        return False
                    assigned[engine.name] = owned
                a, b = (assigned[e.name] for e in engines)
                # the group settled: the prices partitions split between the two engines
                return bool(a) and bool(b) and not a & b and a | b == set(range(partitions))

            await eventually(all_ready_and_split, timeout_s=60, what="3 processes ready")
            timings["ready"] = time.monotonic() - started_at
            owners = {e.name: instruments_of(assigned[e.name], routed, partitions) for e in engines}
            # each engine works on some instruments; the victim (the one with the most) hands
            # its windows over
            assert all(owners.values()), owners
            victim, survivor = sorted(engines, key=lambda e: len(owners[e.name]), reverse=True)

            ws_url = api.base_url.replace("http://", "ws://", 1) + "/v1/signals/ws?cursor=0"
            subscriber = Subscriber(ws_url)
            subscriber.task = asyncio.create_task(subscriber.run())

            async def subscribed() -> bool:
                subscriber.received()
                return await metric(http, api, "mr_stream_clients", transport="ws") == 1

            await eventually(subscribed, timeout_s=10, what="the subscriber connected")

            # the letter first, as it happened, read by every engine
            await play(Scenario(scenario.announcements, [], []), s, speedup=0, progress=False)

            async def letter_consumed() -> bool:
                topic = s.announcements_topic
                for engine in engines:
                    if await metric(http, engine, "mr_events_consumed_total", topic=topic) != 1:
                        return False
                return True

            await eventually(letter_consumed, timeout_s=30, what="the letter consumed")
            await play(Scenario([], scenario.history, first), s, speedup=0, progress=False)
            timings["first part sent"] = time.monotonic() - started_at

            async def victim_partly_done() -> bool:
                # some of the victim's reactions already final (and published)
                final = 0.0
                for instrument in owners[victim.name]:
                    final += await metric(
                        http,
                        victim,
                        "mr_signals_emitted_total",
                        instrument=instrument,
                        final="true",
                    )
                return final > 0

            await eventually(victim_partly_done, timeout_s=30, what="the victim's first finals")
            victim_consumed = await metric(
                http, victim, "mr_events_consumed_total", topic=s.prices_topic
            )
            await victim.kill()
            killed_at = time.monotonic()
            timings["killed"] = killed_at - started_at

            at_kill, _ = await stored_log(s)
            theirs = [k for k in replay if k[1] in owners[victim.name]]
            open_at_kill = [k for k in theirs if k not in at_kill or not at_kill[k].final]
            assert open_at_kill, "the kill must come while the victim has open windows"
            assert len(open_at_kill) < len(theirs), "the victim had finalised some reactions"

            await play(Scenario([], [], rest), s, speedup=0, progress=False)

            async def taken_over() -> bool:
                return await owned_partitions(http, survivor, s) == set(range(partitions))

            await eventually(taken_over, timeout_s=45, what="the survivor owning every partition")
            timings["taken over after the kill"] = time.monotonic() - killed_at

            log: list[Signal] = []

            async def all_final_and_delivered() -> bool:
                nonlocal log
                received = subscriber.received()
                latest, log = await stored_log(s)
                return (
                    latest.keys() == replay.keys()
                    and all(v.final for v in latest.values())
                    and received >= len(log)
                )

            await eventually(all_final_and_delivered, timeout_s=45, what="every reaction final")
            timings["all final after the kill"] = time.monotonic() - killed_at
            # still the survivor's alone, and nothing more arrives after settling
            assert await owned_partitions(http, survivor, s) == set(range(partitions))
            await eventually(
                lambda: subscriber.received() == len(log), timeout_s=5, what="no extra message"
            )
    finally:
        if subscriber is not None and subscriber.task is not None:
            subscriber.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await subscriber.task
        for service in services:
            await service.stop()
        for service in services:
            print(f"--- {service.name} ({service.role}) log tail\n{log_tail(service.log)}")
    print(f"timings (s): {timings}; owners {owners}; killed {victim.name}")
    print(f"victim had consumed {victim_consumed:.0f} prices; {len(open_at_kill)} of its open")

    # the store: every reaction final, equal to the replay's, its final revision stored once
    await assert_stored_as_replayed(s, replay)
    _, log = await stored_log(s)

    # the subscriber: every stored revision once, in cursor order, from the first to the last
    got = subscriber.signals
    cursors = [m["cursor"] for m in got]
    assert all(a < b for a, b in itertools.pairwise(cursors)), "cursors not increasing"
    assert [m["signal_id"] for m in got] == [r.signal_id for r in log]
    first_finals = Counter(reaction_key(m) for m in got if m["final"] and not m["corrected"])
    assert first_finals.keys() == replay.keys()
    assert all(n == 1 for n in first_finals.values()), first_finals
    last = {reaction_key(m): m for m in got}
    for key, replay_signal in replay.items():
        assert comparable(last[key]) == comparable(replay_signal), key
