"""Batches compressed by any codec a Kafka producer may use are read like plain ones: a producer
configured with lz4 or zstd must not stop a replica's ingest."""

from __future__ import annotations

import orjson
import pytest
from prometheus_client import CollectorRegistry

from services.app import create_app
from services.events import Price
from services.ingest.sinks import MemorySink
from services.settings import Settings
from tests.helpers import eventually, kcat_produce, live_server

pytestmark = pytest.mark.kafka

CODECS = ("gzip", "snappy", "lz4", "zstd")


def tick(hour: int, minute: int) -> bytes:
    ts = f"2025-07-08T{hour:02d}:{minute:02d}:00Z"
    return orjson.dumps({"instrument": "KOSPI", "ts": ts, "price": 3050.0 + minute})


async def test_every_codec_reaches_the_sink(kafka_settings: Settings) -> None:
    s = kafka_settings
    for hour, codec in enumerate(CODECS):
        values = [tick(hour, minute) for minute in range(5)]
        kcat_produce(s.kafka_bootstrap, s.prices_topic, values, compression=codec)

    sink = MemorySink()
    app = create_app(s, sink=sink, registry=CollectorRegistry())
    async with live_server(app):
        await eventually(lambda: len(sink.events) == 20, what="the 20 ticks of every codec")
    hours = {e.ts.hour for e in sink.events.values() if isinstance(e, Price)}
    assert hours == set(range(len(CODECS)))
