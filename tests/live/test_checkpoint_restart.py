"""Checkpoints on the real broker: an engine process saves its state per partition of
`market.prices` to the store; SIGKILLed and started again, it loads the checkpoints and reads
only from their offsets (it consumes fewer prices than the topic holds, and says so in its log
and metrics), and still drops a duplicate of a price it read before the kill (the dedupe window
is in the checkpoint). With the checkpoints damaged it reads everything from the start, logged and
counted. Either way every reaction ends final, equal to `replay`'s, each revision stored once."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update

from services.demo.player import play
from services.demo.scenario import Scenario, seed_story
from services.settings import Settings
from services.store import open_store
from services.store.schema import engine_checkpoints
from tests.helpers import eventually
from tests.processes import Service, log_tail, metric, service_env, start, wait_ready
from tests.reactions import assert_stored_as_replayed, replayed, stored_log

pytestmark = pytest.mark.kafka


def engine_env(s: Settings) -> dict[str, str]:
    return service_env(s, "engine", MR_CHECKPOINT_BATCHES="1", MR_CHECKPOINT_INTERVAL_S="3600")


async def consumed(http: httpx.AsyncClient, engine: Service, s: Settings) -> float:
    return await metric(http, engine, "mr_events_consumed_total", topic=s.prices_topic)


async def duplicates(http: httpx.AsyncClient, engine: Service, s: Settings) -> float:
    return await metric(http, engine, "mr_events_duplicate_total", topic=s.prices_topic)


async def restores(http: httpx.AsyncClient, engine: Service, outcome: str) -> float:
    return await metric(http, engine, "mr_checkpoint_restores_total", outcome=outcome)


async def checkpointed(s: Settings) -> int:
    """The prices the stored checkpoints cover (the sum of their next offsets)."""
    store = await open_store(s.database_url)
    try:
        async with store.engine.connect() as conn:
            covered = await conn.execute(
                select(func.coalesce(func.sum(engine_checkpoints.c.next_offset), 0)).where(
                    engine_checkpoints.c.topic == s.prices_topic
                )
            )
    finally:
        await store.close()
    return int(covered.scalar_one())


async def test_restart_reads_from_the_checkpoint_and_falls_back_when_damaged(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    scenario = seed_story(seed=3, tick_s=30)
    replay = replayed(scenario, tmp_path)
    s = kafka_settings
    split = len(scenario.live) // 2
    first, rest = scenario.live[:split], scenario.live[split:]
    total = len(scenario.history) + len(scenario.live)
    engine: Service | None = None
    timings: dict[str, float] = {}
    logs: list[Path] = []

    async def started(name: str) -> Service:
        service = await start("engine", name, engine_env(s), tmp_path)
        logs.append(service.log)
        await wait_ready(http, service)
        return service

    try:
        async with httpx.AsyncClient(timeout=10) as http:
            engine = await started("engine-1")
            await play(
                Scenario(scenario.announcements, scenario.history, first),
                s,
                speedup=0,
                progress=False,
            )
            sent_first = len(scenario.history) + len(first)

            # checkpoints are stored in the background after their batch is committed: the
            # last batch's is awaited by the offsets stored, not by the count of saves
            async def first_part_checkpointed() -> bool:
                assert engine is not None
                return (
                    await consumed(http, engine, s) == sent_first
                    and await metric(http, engine, "mr_checkpoints_saved_total") > 0
                    and await checkpointed(s) == sent_first
                )

            await eventually(first_part_checkpointed, timeout_s=60, what="first part consumed")
            await engine.kill()
            await play(Scenario([], [], rest), s, speedup=0, progress=False)

            # 1. from the checkpoints: only what came after their offsets is read again
            at = time.monotonic()
            engine = await started("engine-2")
            timings["ready from checkpoints"] = time.monotonic() - at

            async def all_final() -> bool:
                latest, _ = await stored_log(s)
                return latest.keys() == replay.keys() and all(v.final for v in latest.values())

            await eventually(all_final, timeout_s=60, what="every reaction final")
            assert await restores(http, engine, "restored") >= 1
            assert await restores(http, engine, "unreadable") == 0

            # the consumed count grows after a batch's commit, which follows its store write:
            # with the whole re-read in one poll, every reaction can be final before it moves
            async def reread_counted() -> bool:
                assert engine is not None
                return await consumed(http, engine, s) > 0

            await eventually(reread_counted, timeout_s=30, what="the re-read counted")
            reread = await consumed(http, engine, s)
            assert reread <= total - sent_first + 500, (reread, total, sent_first)
            assert "restored from checkpoint at offset" in engine.log.read_text()

            # a price read before the kill, sent again: the restored dedupe window drops it
            assert await duplicates(http, engine, s) == 0
            await play(Scenario([], [], first[-1:]), s, speedup=0, progress=False)

            async def duplicate_dropped() -> bool:
                assert engine is not None
                return await duplicates(http, engine, s) == 1

            # the consumed count may still be catching up with the last batch of the re-read,
            # so the duplicate is awaited by its own counter
            await eventually(duplicate_dropped, timeout_s=60, what="the duplicate dropped")
            assert await consumed(http, engine, s) >= reread + 1

            # 2. damaged checkpoints: everything is read again, and it says so
            await engine.kill()
            store = await open_store(s.database_url)
            try:
                async with store.engine.begin() as conn:
                    damaged = await conn.execute(
                        update(engine_checkpoints).values(state=b"damaged")
                    )
                assert damaged.rowcount >= 1
            finally:
                await store.close()
            at = time.monotonic()
            engine = await started("engine-3")
            timings["ready, checkpoints damaged"] = time.monotonic() - at

            async def everything_read_again() -> bool:
                assert engine is not None
                return await consumed(http, engine, s) == total + 1

            await eventually(everything_read_again, timeout_s=60, what="a full re-read")
            assert await restores(http, engine, "unreadable") == damaged.rowcount
            assert await restores(http, engine, "restored") == 0
            assert "unreadable checkpoint, re-reading from the start" in engine.log.read_text()
            await eventually(all_final, timeout_s=30, what="every reaction still final")
    finally:
        if engine is not None:
            await engine.stop()
        for log in logs:
            print(f"--- {log.name}\n{log_tail(log, 15)}")
    print(f"timings (s): {timings}; {total} prices, {sent_first} before the first kill")

    await assert_stored_as_replayed(s, replay)
