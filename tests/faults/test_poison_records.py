"""Records that once stopped a consumer for good (an out-of-calendar time, a near-1 MiB record) or
crashed it in a loop on PostgreSQL (a 61-character sector, a NUL byte): each is now a dead
letter with its reason, and the records after it on the same partition are consumed. Real
broker, real PostgreSQL, the whole service."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from prometheus_client import CollectorRegistry

from services.app import create_app
from services.settings import Settings
from services.store import open_store
from tests.faults.records import dead_letters, send_raw
from tests.helpers import eventually, live_server, metric

pytestmark = pytest.mark.kafka

LETTER: dict[str, Any] = {
    "id": "us-kr-letter",
    "published_at": "2025-07-07T16:04:00Z",
    "targets": ["KR"],
    "headline": "25% tariff on Korean goods",
}
ONE_MIB_JUNK = b'{"instrument":"KOSPI","ts":"2025-07-08T00:00:00Z","price":"' + b"9" * 1_040_000
"""Under the broker's 1 MiB record limit, but its dead-letter copy with headers was over the
producer's request limit."""

POISON_PRICES: list[tuple[bytes, bytes]] = [
    (
        orjson.dumps({"instrument": "KOSPI", "ts": "9999-12-31T23:59:59-14:00", "price": 1.0}),
        b"out_of_range",
    ),
    (
        orjson.dumps({"instrument": "KOSPI", "ts": "2025-07-08T00:00:01Z", "price": 1e-310}),
        b"out_of_range",
    ),
    (
        orjson.dumps({"instrument": "KOS\u0000PI", "ts": "2025-07-08T00:00:02Z", "price": 1.0}),
        b"schema",
    ),
    (ONE_MIB_JUNK, b"invalid_json"),
]
POISON_ANNOUNCEMENTS: list[tuple[bytes, bytes]] = [
    (orjson.dumps({**LETTER, "id": "p1", "published_at": "0001-01-01T00:00:00Z"}), b"out_of_range"),
    (orjson.dumps({**LETTER, "id": "p2", "effective_at": "9999-12-31"}), b"out_of_range"),
    (orjson.dumps({**LETTER, "id": "p3", "sectors": ["s" * 61]}), b"schema"),
    (orjson.dumps({**LETTER, "id": "p4", "headline": "tariff\u0000"}), b"schema"),
]
VALID_TICKS = [
    orjson.dumps({"instrument": "KOSPI", "ts": f"2025-07-08T00:{m:02d}:00Z", "price": 3000.0 + m})
    for m in range(10)
]


async def test_poison_records_are_dead_letters_and_the_partition_goes_on(
    kafka_settings: Settings, postgres_url: str
) -> None:
    s = kafka_settings.model_copy(update={"database_url": postgres_url})
    # every record keyed alike: one partition, the poison before the valid ones
    await send_raw(
        s.kafka_bootstrap,
        s.prices_topic,
        [(b"KOSPI", v) for v, _ in POISON_PRICES] + [(b"KOSPI", v) for v in VALID_TICKS],
    )
    await send_raw(
        s.kafka_bootstrap,
        s.announcements_topic,
        [(b"a", v) for v, _ in POISON_ANNOUNCEMENTS] + [(b"a", orjson.dumps(LETTER))],
    )
    app = create_app(s, registry=CollectorRegistry())
    async with live_server(app) as base, httpx.AsyncClient(base_url=base) as http:

        async def all_consumed() -> bool:
            prices = await metric(http, "mr_events_consumed_total", topic=s.prices_topic)
            letters = await metric(http, "mr_events_consumed_total", topic=s.announcements_topic)
            return (prices, letters) == (
                len(POISON_PRICES) + len(VALID_TICKS),
                len(POISON_ANNOUNCEMENTS) + 1,
            )

        await eventually(all_consumed, what="every record consumed")
        assert (await http.get("/readyz")).status_code == 200
        assert (await http.get("/healthz")).status_code == 200
        assert await metric(http, "mr_events_rejected_total", topic=s.prices_topic) == len(
            POISON_PRICES
        )

    store = await open_store(postgres_url)
    try:
        assert await store.get_announcement(LETTER["id"]) is not None
        for poison in ("p1", "p2", "p3", "p4"):
            assert await store.get_announcement(poison) is None
    finally:
        await store.close()

    for topic, poisons in (
        (s.prices_topic, POISON_PRICES),
        (s.announcements_topic, POISON_ANNOUNCEMENTS),
    ):
        dead = dead_letters(s.kafka_bootstrap, topic)
        assert [d["mr.reason"] for d in dead] == [reason for _, reason in poisons]
        assert all(d["mr.detail"] for d in dead)
    big = dead_letters(s.kafka_bootstrap, s.prices_topic)[-1]
    assert big["mr.truncated"] == f"key=5 value={len(ONE_MIB_JUNK)}".encode()
    assert ONE_MIB_JUNK.startswith(big["value"])
    assert len(big["value"]) < len(ONE_MIB_JUNK)
