"""The live path (Kafka → ingest → engine → market.signals) and `replay` (files → the same
engine) give identical final reactions for the same input."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from prometheus_client import CollectorRegistry

from services.app import create_app
from services.demo.player import play
from services.demo.scenario import Scenario, seed_story
from services.settings import Settings
from tests.api.streams.story import play_letter
from tests.helpers import eventually, live_server
from tests.reactions import comparable, reaction_key, replayed

pytestmark = pytest.mark.kafka


async def test_live_and_replay_agree_on_every_final_reaction(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    scenario = seed_story(seed=11)
    replay = replayed(scenario, tmp_path)
    assert replay, "replay produced no reaction"
    assert all(s["final"] for s in replay.values())

    s = kafka_settings
    latest: dict[tuple[object, object, object], dict[str, object]] = {}
    signals = AIOKafkaConsumer(
        s.signals_topic,
        bootstrap_servers=s.kafka_bootstrap,
        group_id=f"reader-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
    )
    app = create_app(s, registry=CollectorRegistry())
    async with live_server(app) as base, httpx.AsyncClient(base_url=base) as http:
        await signals.start()
        try:
            # the letter first, as it happened; then the market's history and sessions
            await play_letter(s, http, scenario.announcements)
            await play(Scenario([], scenario.history, scenario.live), s, speedup=0, progress=False)

            async def all_final() -> bool:
                polled = await signals.getmany(timeout_ms=200)
                for record in (r for batch in polled.values() for r in batch):
                    signal = orjson.loads(record.value)
                    latest[reaction_key(signal)] = signal
                    key = f"{signal['announcement_id']}|{signal['instrument']}"
                    assert record.key == key.encode()
                return latest.keys() == replay.keys() and all(v["final"] for v in latest.values())

            await eventually(all_final, timeout_s=120, what="every reaction final on Kafka")
        finally:
            await signals.stop()

    for key, replay_signal in replay.items():
        assert comparable(latest[key]) == comparable(replay_signal), key
