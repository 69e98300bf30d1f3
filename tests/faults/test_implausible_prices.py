"""One far-future tick once moved an instrument's event time years ahead (every later valid tick
dropped as late, finals wrong), and one denormal price gave infinite returns that broke the
signal contract. Both are now dead letters: sent in the middle of the seed story, they change
no final reaction, and every signal published still meets `schemas/signal.v1.schema.json`."""

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
from tests.api.streams.story import play_letter, stored_log
from tests.faults.records import dead_letters, send_raw
from tests.helpers import eventually, kcat_consume, live_server
from tests.reactions import comparable, reaction_key, replayed
from tests.schemas import validator

pytestmark = pytest.mark.kafka

FAR_FUTURE = orjson.dumps({"instrument": "KOSPI", "ts": "2031-06-01T01:00:00Z", "price": 3100.0})
DENORMAL = orjson.dumps({"instrument": "KOSPI", "ts": "2025-07-09T01:00:00Z", "price": 1e-310})


async def test_a_far_future_tick_and_a_denormal_price_change_no_final(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    scenario = seed_story(seed=11)
    replay = replayed(scenario, tmp_path)
    # the watermark bound alone: what a replay of history relies on (no wall-clock bound)
    s = kafka_settings.model_copy(update={"ingest_max_ahead_of_wall_clock_s": None})
    split = len(scenario.live) // 3
    app = create_app(s, registry=CollectorRegistry())
    async with live_server(app) as base, httpx.AsyncClient(base_url=base) as http:
        await play_letter(s, http, scenario.announcements)
        first = Scenario([], scenario.history, scenario.live[:split])
        await play(first, s, speedup=0, progress=False)
        await send_raw(
            s.kafka_bootstrap, s.prices_topic, [(b"KOSPI", FAR_FUTURE), (b"KOSPI", DENORMAL)]
        )
        await play(Scenario([], [], scenario.live[split:]), s, speedup=0, progress=False)

        async def all_final() -> bool:
            latest = {reaction_key(x.model_dump()): x for x in await stored_log(s)}
            return latest.keys() == replay.keys() and all(x.final for x in latest.values())

        await eventually(all_final, timeout_s=120, what="every reaction final in the store")
        assert (await http.get("/readyz")).status_code == 200

    latest = {reaction_key(x.model_dump()): x for x in await stored_log(s)}
    for key, expected in replay.items():
        assert comparable(latest[key].model_dump(mode="json")) == comparable(expected), key

    published = [orjson.loads(r["value"]) for r in kcat_consume(s.kafka_bootstrap, s.signals_topic)]
    assert published
    contract = validator("signal")
    assert [p["signal_id"] for p in published if not contract.is_valid(p)] == []

    dead = dead_letters(s.kafka_bootstrap, s.prices_topic)
    assert [(d["value"], d["mr.reason"]) for d in dead] == [
        (FAR_FUTURE, b"implausible_time"),
        (DENORMAL, b"out_of_range"),
    ]
