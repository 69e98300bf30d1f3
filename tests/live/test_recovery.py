"""A restarted engine continues where the previous process stopped (DESIGN §4 idempotence): the
first app plays part of the seed story and stops, a new app on the same store, topics and group
restores the revisions sent, replays the topics and takes the rest. No final reaction is lost or
sent twice, revision numbers continue without a gap, and the finals equal `replay`'s."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest
from prometheus_client import CollectorRegistry

from services.app import create_app
from services.demo.player import play
from services.demo.scenario import Scenario, seed_story
from services.events import Signal
from services.live.pipeline import latest_revisions
from services.settings import Settings
from services.store import open_store
from tests.api.streams.story import play_letter
from tests.helpers import eventually, kcat_consume, live_server, metric
from tests.reactions import Key, comparable, reaction_key, replayed

pytestmark = pytest.mark.kafka


async def stored_latest(settings: Settings) -> dict[Key, Signal]:
    store = await open_store(settings.database_url)
    try:
        return {reaction_key(s.model_dump()): s for s in await latest_revisions(store)}
    finally:
        await store.close()


async def test_a_restarted_engine_continues_where_it_stopped(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    scenario = seed_story(seed=11)
    replay = replayed(scenario, tmp_path)
    s = kafka_settings
    # stop in the middle of the third session after the letter
    split = len(scenario.live) // 2
    first, rest = scenario.live[:split], scenario.live[split:]

    app = create_app(s, registry=CollectorRegistry())
    async with live_server(app) as base, httpx.AsyncClient(base_url=base) as http:
        await play_letter(s, http, scenario.announcements)
        await play(Scenario([], scenario.history, first), s, speedup=0, progress=False)
        sent = len(scenario.history) + len(first)

        async def first_part_consumed() -> bool:
            return await metric(http, "mr_events_consumed_total", topic=s.prices_topic) == sent

        await eventually(first_part_consumed, what="the first part consumed")
    # graceful stop: the lifespan left, offsets committed
    before = await stored_latest(s)
    assert before, "nothing stored before the restart"
    assert not all(v.final for v in before.values()), "the restart must come mid-stream"
    assert any(v.final for v in before.values()), "some reactions should be final already"

    app = create_app(s, registry=CollectorRegistry())
    async with live_server(app):
        await play(Scenario([], [], rest), s, speedup=0, progress=False)

        async def all_final() -> bool:
            latest = await stored_latest(s)
            return latest.keys() == replay.keys() and all(v.final for v in latest.values())

        await eventually(all_final, timeout_s=120, what="every reaction final in the store")

    after = await stored_latest(s)
    for key, replay_signal in replay.items():
        assert comparable(after[key].model_dump(mode="json")) == comparable(replay_signal), key

    stored: set[str] = set()
    store = await open_store(s.database_url)
    try:
        for announcement_id, instrument, horizon in replay:
            revisions = await store.revisions(str(announcement_id), str(instrument), str(horizon))
            stored |= {r.signal_id for r in revisions}
            numbers = [r.revision for r in revisions]
            assert numbers == list(range(1, len(numbers) + 1)), (instrument, horizon, numbers)
            finals = [r for r in revisions if r.final]
            assert finals, (instrument, horizon)
            # one final revision; any later one is a correction
            assert not finals[0].corrected
            assert all(r.corrected for r in finals[1:])
            assert revisions[-1].final
    finally:
        await store.close()

    records = kcat_consume(s.kafka_bootstrap, s.signals_topic)
    on_kafka = [orjson.loads(r["value"])["signal_id"] for r in records]
    assert len(on_kafka) == len(set(on_kafka)), "a revision was published twice"
    assert set(on_kafka) == stored, "every stored revision published, and nothing else"
