"""The scale test: 3 engine replicas and 1 api replica on the real broker and a shared PostgreSQL
store; a generated market of 50 instruments (5 benchmark indices, 45 stocks benchmarked to
them), 200 announcements and over 500,000 ticks, produced with the benchmark-group partitioner.
Engine replicas are SIGKILLed and started again at random points of the stream (fixed seed);
they restore from their checkpoints or re-read. In the end every reaction equals the
single-process `replay`'s, none is missing, no revision is stored twice, and no abnormal return
is null where the benchmark has data. (Announcements are produced before the ticks, and
`replay` feeds each one before the ticks of its instant, so neither corrects a final.)"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from pathlib import Path

import httpx
import orjson
import pytest

from services.demo.scale import generate, send
from services.engine.registry import load_registry
from services.replay import run_replay
from services.settings import Settings
from tests.helpers import eventually
from tests.processes import Service, log_tail, metric, readyz, service_env, start
from tests.reactions import comparable, reaction_key, stored_log

# generating and replaying half a million ticks alone takes a minute or two on a busy machine
pytestmark = [pytest.mark.kafka, pytest.mark.timeout(1500)]

SEED = 16
ENGINES = 3
KILLS = 3
CHUNKS = 8


async def test_three_engines_killed_at_random_equal_one_replay(
    kafka_settings: Settings, postgres_url: str, tmp_path: Path
) -> None:
    started_at = time.monotonic()
    timings: dict[str, float] = {}
    scenario = generate(SEED)
    assert scenario.instruments == 50
    assert len(scenario.announcements) == 200
    assert scenario.ticks >= 500_000
    registry_file, announcements, prices = scenario.write(tmp_path / "input")
    out = tmp_path / "replayed.jsonl"
    run_replay(
        str(announcements),
        str(prices),
        str(out),
        progress=False,
        registry=load_registry(registry_file),
    )
    replay = {reaction_key(s): s for s in map(orjson.loads, out.read_bytes().splitlines())}
    timings["generated and replayed"] = time.monotonic() - started_at
    dependents = [k for k in replay if k[1] in scenario.benchmarks]
    # the benchmarks have data: one process gives every dependent an abnormal return
    assert dependents
    assert all(replay[k]["abnormal_return_pct"] is not None for k in dependents)

    s = kafka_settings.model_copy(update={"database_url": postgres_url})

    def env(name: str) -> dict[str, str]:
        return service_env(
            s,
            name,
            MR_INSTRUMENTS_FILE=str(registry_file),
            # long enough for a busy machine's stalls, short enough to notice a kill soon
            MR_KAFKA_SESSION_TIMEOUT_MS="10000",
            MR_CHECKPOINT_INTERVAL_S="2",
        )

    rng = random.Random(SEED)
    engines: dict[str, Service] = {}
    api: Service | None = None
    logs: list[Path] = []
    killed: list[tuple[int, str]] = []
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            for n in range(ENGINES):
                name = f"engine-{n}"
                engines[name] = await start("engine", name, env(name), tmp_path)
                logs.append(engines[name].log)
            api = await start("api", "api", env("api"), tmp_path)
            logs.append(api.log)

            async def all_ready() -> bool:
                services = [*engines.values(), api]
                return all([await readyz(http, x) is not None for x in services])

            await eventually(all_ready, timeout_s=300, what="3 engines and the api ready")
            timings["ready"] = time.monotonic() - started_at

            ann = [(orjson.loads(a)["id"].encode(), a) for a in scenario.announcements]
            await send(s.kafka_bootstrap, s.announcements_topic, ann, registry_file)

            async def announcements_read() -> bool:
                for engine in engines.values():
                    topic = s.announcements_topic
                    got = await metric(http, engine, "mr_events_consumed_total", topic=topic)
                    # more when a rebalance made an engine read them again
                    if got < len(ann):
                        return False
                return True

            await eventually(announcements_read, timeout_s=180, what="announcements read")

            # the prices in chunks; before some chunks (never the first) a random engine dies
            size = -(-len(scenario.prices) // CHUNKS)
            parts = [scenario.prices[i : i + size] for i in range(0, len(scenario.prices), size)]
            kill_before = set(rng.sample(range(1, len(parts)), KILLS))
            for i, part in enumerate(parts):
                if i in kill_before:
                    name = rng.choice(sorted(engines))
                    victim = engines[name]
                    await victim.kill()
                    killed.append((i, name))
                    engines[name] = await start("engine", name, env(name), tmp_path)
                    logs.append(engines[name].log)
                await send(s.kafka_bootstrap, s.prices_topic, part, registry_file)
                # let the replicas work on the chunk before the next one or kill
                await asyncio.sleep(rng.uniform(0.5, 4.0))
            timings["all sent"] = time.monotonic() - started_at

            async def all_final() -> bool:
                for x in [*engines.values(), api]:
                    x.alive()
                latest, _ = await stored_log(s)
                return latest.keys() == replay.keys() and all(v.final for v in latest.values())

            await eventually(all_final, timeout_s=600, what="every reaction final in the store")
            timings["all final"] = time.monotonic() - started_at
            restored = 0.0
            for engine in engines.values():
                restored += await metric(
                    http, engine, "mr_checkpoint_restores_total", outcome="restored"
                )
            # the api serves the shared store: one reaction's revisions, as stored
            key = next(iter(dependents))
            a_id, instrument, horizon = (str(x) for x in key)
            answer = await http.get(
                f"{api.base_url}/v1/reactions/{a_id}/{instrument}/{horizon}/revisions"
            )
            assert answer.status_code == 200, answer.text
    finally:
        for x in [*engines.values(), *([api] if api else [])]:
            await x.stop()
        for path in logs[-4:]:
            print(f"--- {path.name}\n{log_tail(path, 8)}")
    print(
        f"scale: {scenario.instruments} instruments, {len(scenario.announcements)} announcements,"
        f" {scenario.ticks:,} ticks, {len(replay):,} reactions; killed {killed}; "
        f"partitions restored from checkpoints by the last processes: {restored:.0f}; "
        f"timings (s): { {k: round(v, 1) for k, v in timings.items()} }"
    )
    assert len(killed) == KILLS

    latest, log = await stored_log(s)
    assert latest.keys() == replay.keys(), "a reaction is missing"
    for key, replay_signal in replay.items():
        got = comparable(latest[key].model_dump(mode="json"))
        assert got == comparable(replay_signal), key
    nulls = [k for k in dependents if latest[k].abnormal_return_pct is None]
    assert not nulls, f"{len(nulls)} null abnormal returns where the benchmark has data"
    assert len({r.signal_id for r in log}) == len(log), "a revision was stored twice"
    numbers: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    first_finals: dict[tuple[str, str, str], int] = defaultdict(int)
    for r in log:
        k = (r.announcement_id, r.instrument, r.horizon)
        numbers[k].append(r.revision)
        first_finals[k] += r.final and not r.corrected
    for k, revisions in numbers.items():
        assert sorted(revisions) == list(range(1, len(revisions) + 1)), (k, revisions)
        assert first_finals[k] == 1, k
