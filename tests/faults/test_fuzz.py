"""20,000 seeded records of 31 kinds (valid, duplicate, malformed, out of range, implausible,
oversized) through the real broker into the whole service: it stays ready, every record is
accounted for exactly (consumed = accepted + duplicates + dead letters), and every dead letter
carries the reason its record deserved."""

from __future__ import annotations

import time
from collections import Counter

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry

from services.app import create_app
from services.settings import Settings
from services.store import open_store
from services.store.filters import AnnouncementFilter, AnnouncementKey
from tests.faults.fuzz import ACCEPTED, DUPLICATE, Record, fuzz_records
from tests.faults.records import MAX_REQUEST_BYTES, dead_letters
from tests.helpers import eventually, live_server, metric

pytestmark = pytest.mark.kafka

RECORDS = 20_000
SEED = 20251129
Source = tuple[str, int, int]
"""(topic, partition, offset) of a record sent."""


async def send(s: Settings, records: list[Record]) -> dict[Source, Record]:
    topics = {"prices": s.prices_topic, "announcements": s.announcements_topic}
    producer = AIOKafkaProducer(
        bootstrap_servers=s.kafka_bootstrap, acks="all", max_request_size=MAX_REQUEST_BYTES
    )
    await producer.start()
    try:
        futures = [await producer.send(topics[r.topic], key=r.key, value=r.value) for r in records]
        sent = {}
        for record, future in zip(records, futures, strict=True):
            meta = await future
            sent[(meta.topic, meta.partition, meta.offset)] = record
        return sent
    finally:
        await producer.stop()


async def stored_announcements(url: str) -> int:
    store = await open_store(url)
    try:
        count, after = 0, None
        while page := await store.list_announcements(AnnouncementFilter(), after=after, limit=1000):
            count += len(page)
            last = page[-1]
            after = AnnouncementKey(int(last.published_at.timestamp() * 1_000_000), last.id)
        return count
    finally:
        await store.close()


async def test_fuzzed_records_are_all_accounted_for(kafka_settings: Settings) -> None:
    s = kafka_settings
    records = fuzz_records(RECORDS, seed=SEED)
    kinds = Counter(r.kind for r in records)
    assert len(kinds) >= 20
    started = time.monotonic()
    app = create_app(s, registry=CollectorRegistry())
    async with live_server(app) as base, httpx.AsyncClient(base_url=base) as http:
        await eventually(lambda: _status(http, "/readyz", 200), what="ready before the fuzz")
        sent = await send(s, records)
        per_topic = Counter(topic for topic, _, _ in sent)

        async def all_consumed() -> bool:
            assert await _status(http, "/healthz", 200), "a consumer stopped"
            counts = [await metric(http, "mr_events_consumed_total", topic=t) for t in per_topic]
            return counts == list(per_topic.values())

        await eventually(all_consumed, timeout_s=120, what="every fuzzed record consumed")
        assert await _status(http, "/readyz", 200), "not ready after the fuzz"
        for topic in per_topic:
            mine = [r for (t, _, _), r in sent.items() if t == topic]
            expected = Counter(r.expected for r in mine)
            assert (
                await metric(http, "mr_events_duplicate_total", topic=topic) == expected[DUPLICATE]
            )
            for reason, count in expected.items():
                if reason not in (ACCEPTED, DUPLICATE):
                    rejected = await metric(
                        http, "mr_events_rejected_total", topic=topic, reason=reason
                    )
                    assert rejected == count, (topic, reason)
    elapsed = time.monotonic() - started

    dead = [
        d
        for topic in (s.prices_topic, s.announcements_topic)
        for d in dead_letters(s.kafka_bootstrap, topic)
    ]
    expected_dead = {src: r for src, r in sent.items() if r.expected not in (ACCEPTED, DUPLICATE)}
    reasons = {
        (
            d["mr.source.topic"].decode(),
            int(d["mr.source.partition"]),
            int(d["mr.source.offset"]),
        ): d["mr.reason"].decode()
        for d in dead
    }
    assert len(dead) == len(reasons), "a record dead-lettered twice"
    assert reasons == {src: r.expected for src, r in expected_dead.items()}
    assert all(d["mr.detail"] for d in dead)

    accepted = Counter(r.topic for r in records if r.expected == ACCEPTED)
    duplicates = sum(r.expected == DUPLICATE for r in records)
    assert await stored_announcements(s.database_url) == accepted["announcements"]
    assert len(records) == sum(accepted.values()) + duplicates + len(dead)
    print(
        f"fuzzed {len(records)} records of {len(kinds)} kinds in {elapsed:.1f} s: "
        f"{sum(accepted.values())} accepted, {duplicates} duplicates, {len(dead)} dead letters"
    )


async def _status(http: httpx.AsyncClient, path: str, code: int) -> bool:
    return (await http.get(path)).status_code == code
