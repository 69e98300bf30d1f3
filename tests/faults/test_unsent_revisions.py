"""Nothing stored is unsent: the broker (one of the test's own) is frozen with SIGSTOP while the
service has revisions to store, so it stores revisions it cannot publish; the service is
SIGKILLed there, then the frozen broker too (what its sockets held unread is lost, as in a
crash), the broker is started again on its data, the service too, and every revision the store
held reaches `market.signals`. Before the outbox, recovery took everything stored as sent and
such revisions were never published."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import time
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from services.demo.player import play
from services.demo.scenario import Scenario, seed_story
from services.ingest.topics import ensure_topics, service_topics
from services.settings import Settings
from services.store import open_store
from services.store.schema import unpublished_revisions
from tests.api.streams.story import stored_log
from tests.faults.servers import own_broker
from tests.helpers import eventually, free_port, kcat_consume

pytestmark = pytest.mark.kafka

CLOSE_UTC = time(6, 30)
"""The KRX session close (15:30 in Seoul)."""


def start_service(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MR_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "MR_DATABASE_URL": settings.database_url,
        "MR_HTTP_PORT": str(port),
        "MR_INGEST_MAX_RECORDS": "50",  # many small batches: some are stored while frozen
        "MR_REPLICA_ID": "only",
        "MR_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([sys.executable, "-m", "services.cli", "serve"], env=env)


async def unpublished(settings: Settings) -> int:
    store = await open_store(settings.database_url)
    try:
        async with store._engine.connect() as conn:
            count = await conn.scalar(select(func.count()).select_from(unpublished_revisions))
            return int(count or 0)
    finally:
        await store.close()


def published(settings: Settings) -> set[str]:
    records = kcat_consume(settings.kafka_bootstrap, settings.signals_topic)
    return {orjson.loads(r["value"])["signal_id"] for r in records}


async def test_revisions_stored_while_the_broker_is_frozen_are_published_after_a_crash(
    tmp_path: Path,
) -> None:
    story = seed_story(seed=11)
    # the first session after the letter but its closing tick: its `close` windows are then
    # finalised by the idle pass (grace after a last tick near the close), which needs no
    # broker to store them but one to publish them
    first_day = story.live[0].ts.date()
    first = [p for p in story.live if p.ts.date() == first_day and p.ts.time() < CLOSE_UTC]
    with own_broker() as broker:
        s = Settings(
            kafka_bootstrap=broker.bootstrap,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'store.db'}",
        )
        await ensure_topics(s.kafka_bootstrap, service_topics(s))
        await play(
            Scenario(story.announcements, story.history, first), s, speedup=0, progress=False
        )

        port = free_port()
        service = start_service(s, port)
        try:
            sent = len(story.history) + len(first)
            await eventually(
                lambda: _consumed(port, s.prices_topic, sent), timeout_s=120, what="the first day"
            )
            # within the engine's grace: the first day's finals are still to come
            broker.freeze()
            await eventually(lambda: _held(s), timeout_s=120, what="revisions stored, not sent")
            await eventually(
                lambda: _names_down(port, s.signals_topic),
                timeout_s=60,
                what="/readyz naming market.signals while the broker is frozen",
            )
        finally:
            service.send_signal(signal.SIGKILL)
            service.wait(timeout=30)
        stored_at_kill = {x.signal_id for x in await stored_log(s)}
        held = await unpublished(s)
        broker.kill()
        broker.up()
        unsent = stored_at_kill - published(s)
        print(
            f"at the kill: {len(stored_at_kill)} stored, {held} held in the outbox, "
            f"{len(unsent)} not on the topic"
        )
        assert held > 0
        assert unsent, "every stored revision was sent before the kill: the test proved nothing"

        service = start_service(s, free_port())
        try:
            await eventually(
                lambda: stored_at_kill <= published(s),
                timeout_s=120,
                what="every revision stored before the kill on market.signals",
            )
            await eventually(lambda: _all_sent(s), timeout_s=120, what="the outbox empty")
        finally:
            service.send_signal(signal.SIGTERM)
            service.wait(timeout=60)
        stored = {x.signal_id for x in await stored_log(s)}
        missing = stored - published(s)
        print(f"after the restart: {len(stored)} stored revisions compared, {len(missing)} lost")
        assert missing == set()


async def _consumed(port: int, topic: str, count: int) -> bool:
    try:
        async with httpx.AsyncClient() as http:
            text = (await http.get(f"http://127.0.0.1:{port}/metrics", timeout=10)).text
    except httpx.ConnectError:
        return False  # not serving yet
    line = f'mr_events_consumed_total{{topic="{topic}"}} {float(count)}'
    return line in text.splitlines()


async def _held(s: Settings) -> bool:
    return await unpublished(s) > 0


async def _all_sent(s: Settings) -> bool:
    return await unpublished(s) == 0


async def _names_down(port: int, dependency: str) -> bool:
    async with httpx.AsyncClient() as http:
        ready = await http.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
    check = ready.json()["checks"].get(dependency, {})
    return ready.status_code == 503 and check.get("ok") is False and check["failures"] > 0
