"""The api role reads `market.signals`, whose order Kafka keeps per partition only, while an
engine's batch spans partitions (one per instrument): its clients still get the stored revision
log in cursor order, with no hole, so that resuming from the last cursor seen misses nothing."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from services.api.feed import _latest_cursor
from services.app import create_app
from services.events import Announcement, Signal
from services.settings import Settings
from services.store import StoreBatch, open_store
from tests.api.streams.clients import SseClient, WsClient
from tests.factories import signal
from tests.helpers import eventually, hub_of, live_server

INSTRUMENTS = ("KOSPI", "KOSDAQ", "USDKRW", "005380.KS", "005490.KS", "000660.KS")


@pytest.mark.kafka
async def test_a_batch_across_partitions_reaches_clients_in_cursor_order(
    kafka_settings: Settings,
) -> None:
    s = kafka_settings
    app = create_app(s, role="api", registry=CollectorRegistry())
    producer = AIOKafkaProducer(bootstrap_servers=s.kafka_bootstrap, linger_ms=100)
    async with (
        live_server(app) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
        WsClient(base) as ws,
        SseClient(http, "instrument=KOSDAQ") as kosdaq,
    ):
        await eventually(lambda: app.state.runtime.feed.assigned, what="the feed assigned")
        await eventually(lambda: len(hub_of(app)) == 2, what="two subscribers")
        # as the engine does: store a batch (cursors 1..60, instruments interleaved), publish it
        batch = [
            signal(instrument=INSTRUMENTS[r % len(INSTRUMENTS)], revision=r) for r in range(1, 61)
        ]
        async with await open_store(s.database_url) as store:
            stored = (await store.write_batch(StoreBatch(signals=batch))).signals
        await producer.start()
        try:
            for sent in stored:
                key = f"{sent.announcement_id}|{sent.instrument}".encode()
                value = orjson.dumps(sent.model_dump(mode="json"))
                await producer.send(s.signals_topic, key=key, value=value)
            await producer.flush()
            assert len(await producer.partitions_for(s.signals_topic)) > 1
        finally:
            await producer.stop()
        await eventually(lambda: ws.received == len(stored), what="every signal")
        await eventually(lambda: kosdaq.received == len(stored) // 6, what="KOSDAQ's")

    assert ws.signals == stored
    assert kosdaq.signals == [sig for sig in stored if sig.instrument == "KOSDAQ"]


class Log:
    """A revision log holding the given cursors."""

    def __init__(self, cursors: set[int]) -> None:
        self.cursors = sorted(cursors)

    async def revisions_after(self, cursor: int, *, limit: int) -> list[Signal]:
        after = [c for c in self.cursors if c > cursor][:limit]
        return [signal().model_copy(update={"cursor": c}) for c in after]

    async def get_announcement(self, announcement_id: str) -> Announcement | None:
        return None


@given(st.sets(st.integers(min_value=1, max_value=10**12), max_size=20))
def test_the_latest_cursor_is_found_by_bisection(cursors: set[int]) -> None:
    """Cursors may have holes (a rolled-back transaction, a sequence's cache)."""
    assert asyncio.run(_latest_cursor(Log(cursors))) == max(cursors, default=0)
