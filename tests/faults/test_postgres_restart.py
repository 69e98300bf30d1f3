"""PostgreSQL restarted mid-stream (a server of the test's own): the engine's writes are retried
until it is back, /readyz says 503 naming the store meanwhile, /healthz stays 200 (nothing to
restart), lag keeps being measured, and once the database answers again every reaction comes
out final and equal to `replay`'s, with no manual action. It once ended the prices consumer for
good while the process looked healthy."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest
from prometheus_client import CollectorRegistry

from services.app import create_app
from services.demo.player import play
from services.demo.scenario import Scenario, seed_story
from services.settings import Settings
from tests.api.streams.story import stored_log
from tests.faults.servers import own_postgres
from tests.helpers import eventually, kcat_consume, live_server, metric
from tests.reactions import comparable, reaction_key, replayed

pytestmark = pytest.mark.kafka


async def test_a_postgres_restart_mid_stream_loses_nothing(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    scenario = seed_story(seed=11)
    replay = replayed(scenario, tmp_path)
    split = len(scenario.live) // 3
    with own_postgres() as postgres:
        s = kafka_settings.model_copy(
            update={"database_url": postgres.url, "ingest_lag_interval_s": 0.2}
        )
        app = create_app(s, registry=CollectorRegistry())
        async with live_server(app) as base, httpx.AsyncClient(base_url=base) as http:

            async def consumed(topic: str, count: int) -> bool:
                return await metric(http, "mr_events_consumed_total", topic=topic) == count

            await play(Scenario(scenario.announcements, [], []), s, speedup=0, progress=False)
            await eventually(lambda: consumed(s.announcements_topic, 1), what="the letter")
            await play(
                Scenario([], scenario.history, scenario.live[:split]), s, speedup=0, progress=False
            )
            before = len(scenario.history) + split
            await eventually(lambda: consumed(s.prices_topic, before), what="the first part")

            postgres.stop()
            await play(Scenario([], [], scenario.live[split:]), s, speedup=0, progress=False)

            async def store_down_and_lag_seen() -> bool:
                ready = await http.get("/readyz")
                checks = ready.json()["checks"]
                return (
                    ready.status_code == 503
                    and checks["store"]["ok"] is False
                    and checks["store"].get("failures", 0) > 0  # the engine's write, retried
                    and sum(checks[s.prices_topic]["lag"].values()) > 0
                )

            await eventually(store_down_and_lag_seen, what="/readyz naming the store, with lag")
            assert (await http.get("/healthz")).status_code == 200
            postgres.start()

            async def all_final() -> bool:
                latest = {reaction_key(x.model_dump()): x for x in await stored_log(s)}
                return latest.keys() == replay.keys() and all(x.final for x in latest.values())

            await eventually(all_final, timeout_s=120, what="every reaction final in the store")
            await eventually(lambda: _ready(http), what="/readyz 200 once the store is back")

        log = await stored_log(s)
    latest = {reaction_key(x.model_dump()): x for x in log}
    for key, expected in replay.items():
        assert comparable(latest[key].model_dump(mode="json")) == comparable(expected), key
    on_kafka = {
        orjson.loads(r["value"])["signal_id"]
        for r in kcat_consume(s.kafka_bootstrap, s.signals_topic)
    }
    assert {x.signal_id for x in log} <= on_kafka, "a stored revision never published"


async def _ready(http: httpx.AsyncClient) -> bool:
    return (await http.get("/readyz")).status_code == 200
