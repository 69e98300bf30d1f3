"""Events produced by an independent client (kcat) reach the service through the real broker."""

from __future__ import annotations

import httpx
import orjson
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from services.app import create_app
from services.events import Announcement, Price
from services.ingest.sinks import MemorySink
from services.settings import Settings
from tests.helpers import eventually, kcat_consume, kcat_produce, live_server

pytestmark = pytest.mark.kafka

LETTER = {
    "id": "us-kr-2025-07-07-letter",
    "published_at": "2025-07-07T12:05:00-04:00",
    "source": "truth_social",
    "targets": ["KR"],
    "action": "impose",
    "tariff_rate_pct": 25,
    "effective_at": "2025-08-01",
    "headline": "US to impose 25% tariff on South Korean goods from August 1",
}


def tick(minute: int, price: float) -> bytes:
    ts = f"2025-07-08T00:{minute:02d}:00Z"
    return orjson.dumps({"instrument": "KOSPI", "ts": ts, "price": price})


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_valid_reach_sink_invalid_go_to_dlq_duplicates_counted(
    kafka_settings: Settings,
) -> None:
    s = kafka_settings
    valid_prices = [tick(m, 3050 + m) for m in range(20)]
    bad_prices = [
        b"not json",
        b"\xff\xfe garbage",
        orjson.dumps({"instrument": "KOSPI", "ts": "2025-07-08T00:00:00Z", "price": -5}),
        orjson.dumps(
            {
                "instrument": "KOSPI",
                "ts": "2025-07-08T00:00:00Z",
                "open": 10,
                "high": 9,
                "low": 11,
                "close": 10,
                "interval": "1m",
            }
        ),
    ]
    kcat_produce(s.kafka_bootstrap, s.prices_topic, valid_prices + bad_prices + valid_prices[:5])
    kcat_produce(s.kafka_bootstrap, s.announcements_topic, [orjson.dumps(LETTER)] * 2)
    kcat_produce(s.kafka_bootstrap, s.announcements_topic, [b'{"id":"x"}'])

    sink = MemorySink()
    app = create_app(s, sink=sink, registry=CollectorRegistry())
    async with live_server(app) as base, httpx.AsyncClient(base_url=base) as http:
        await eventually(lambda: len(sink.events) == 21, what="21 distinct events in the sink")

        metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}

        async def all_consumed() -> bool:
            metrics.update(samples((await http.get("/metrics")).text))
            prices = ("mr_events_consumed_total", (("topic", s.prices_topic),))
            announcements = ("mr_events_consumed_total", (("topic", s.announcements_topic),))
            return metrics.get(prices) == 29 and metrics.get(announcements) == 3

        await eventually(all_consumed, what="29 price and 3 announcement records counted")
        ready = (await http.get("/readyz")).json()

    prices = [e for e in sink.events.values() if isinstance(e, Price)]
    announcements = [e for e in sink.events.values() if isinstance(e, Announcement)]
    assert sorted(p.price or 0 for p in prices) == [3050 + m for m in range(20)]
    assert [a.id for a in announcements] == [LETTER["id"]]

    def metric(name: str, **labels: str) -> float | None:
        return metrics.get((name, tuple(sorted(labels.items()))))

    assert metric("mr_events_consumed_total", topic=s.prices_topic) == 29
    assert metric("mr_events_consumed_total", topic=s.announcements_topic) == 3
    assert metric("mr_events_duplicate_total", topic=s.prices_topic) == 5
    assert metric("mr_events_duplicate_total", topic=s.announcements_topic) == 1
    for reason in ("invalid_json", "not_utf8", "out_of_range", "inconsistent_bar"):
        assert metric("mr_events_rejected_total", topic=s.prices_topic, reason=reason) == 1
    assert metric("mr_events_rejected_total", topic=s.announcements_topic, reason="schema") == 1
    assert ready["status"] == "ready"
    assert ready["checks"][s.prices_topic]["partitions"] == list(range(6))
    assert ready["checks"][s.prices_topic]["lag"] == {str(p): 0 for p in range(6)}

    dead = kcat_consume(s.kafka_bootstrap, f"{s.prices_topic}.dlq")
    assert sorted(d["value"] for d in dead) == sorted(bad_prices)
    by_value = {d["value"]: d for d in dead}
    assert by_value[b"not json"]["mr.reason"] == b"invalid_json"
    assert by_value[bad_prices[1]]["mr.reason"] == b"not_utf8"
    assert by_value[bad_prices[2]]["mr.reason"] == b"out_of_range"
    assert (
        by_value[bad_prices[2]]["mr.detail"]
        == b"price: Input should be greater than or equal to 0.000001"
    )
    assert by_value[bad_prices[3]]["mr.reason"] == b"inconsistent_bar"
    for d in dead:
        assert d["mr.source.topic"] == s.prices_topic.encode()
        assert int(d["mr.source.partition"]) in range(6)
        assert int(d["mr.source.offset"]) >= 0
    announcement_dead = kcat_consume(s.kafka_bootstrap, f"{s.announcements_topic}.dlq")
    assert [d["value"] for d in announcement_dead] == [b'{"id":"x"}']
    assert announcement_dead[0]["mr.detail"].startswith(b"published_at: Field required")
