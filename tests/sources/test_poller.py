"""Source pollers against a real local HTTP server playing recorded answers, the real broker and
a real store: new items, repeats, 304, 500s, timeouts, truncated bodies, a 1,000-item feed, and a
restart that produces nothing twice."""

from __future__ import annotations

import asyncio

import pytest

from services.settings import Settings
from services.sources.config import SourceConfig
from services.sources.exceptions import FetchFailed, MalformedDocument
from tests.sources.feed_server import Answer, feed_server, fixture, rss
from tests.sources.harness import harness, produced

pytestmark = pytest.mark.kafka


def config(base: str, path: str, kind: str, **extra: object) -> SourceConfig:
    name = {"federal_register": "federal_register"}.get(kind, "white_house")
    return SourceConfig.model_validate(
        {"name": extra.pop("name", name), "kind": kind, "url": base + path, **extra}
    )


async def test_federal_register_new_items_repeats_and_not_modified(
    kafka_settings: Settings,
) -> None:
    with feed_server() as (server, base):
        server.script(
            "/documents.json",
            fixture("federal_register_1.json", ETag='"v1"'),
            fixture("federal_register_2.json", ETag='"v2"'),
            Answer(304),
        )
        source = config(base, "/documents.json", "federal_register")
        async with harness(kafka_settings, source) as h:
            first = await h.poller.poll_once()
            second = await h.poller.poll_once()
            third = await h.poller.poll_once()
            unrouted = await h.intake.items("unrouted", limit=10)
            seen = h.metric("mr_source_items_seen_total")
            lag_count = h.metric("mr_source_lag_seconds_count")
        conditional = [r.headers.get("If-None-Match") for r in server.hits("/documents.json")]

    assert (first.produced, first.unrouted) == (1, 1)
    assert (second.produced, second.unrouted) == (1, 0)  # the two repeats are not read again
    assert third.not_modified
    assert conditional == [None, '"v1"', '"v2"']
    ids = [a["id"] for a in produced(kafka_settings)]
    assert ids == ["fr-2025-14870", "fr-2025-17709"]
    korea = produced(kafka_settings)[0]
    assert korea["targets"] == ["KR"]
    assert korea["tariff_rate_pct"] == 25
    assert korea["published_at_precision"] == "day"
    assert korea["effective_at"] == "2025-08-01"
    assert korea["source"] == "federal_register"
    assert korea["extraction"]["confidence"] == 1.0
    assert [(u.item_id, u.draft["sectors"]) for u in unrouted] == [("2025-14890", ["copper"])]
    assert seen == 3
    assert lag_count == 3


async def test_rss_and_atom_items_with_required_words(kafka_settings: Settings) -> None:
    with feed_server() as (server, base):
        server.script("/wh.rss", fixture("white_house.rss"))
        server.script("/ustr.atom", fixture("ustr.atom"))
        white_house = config(base, "/wh.rss", "feed", require_any=["tariff"])
        ustr = config(base, "/ustr.atom", "feed", name="ustr", require_any=["tariff"])
        async with harness(kafka_settings, white_house) as wh, harness(kafka_settings, ustr) as us:
            from_rss = await wh.poller.poll_once()
            from_atom = await us.poller.poll_once()
            unrouted = await us.intake.items("unrouted", limit=10)

    assert (from_rss.produced, from_rss.unrouted, from_rss.skipped) == (2, 0, 1)
    assert (from_atom.produced, from_atom.unrouted) == (1, 1)
    on_topic = produced(kafka_settings)
    assert [(a["source"], a["targets"], a["action"]) for a in on_topic] == [
        ("white_house", ["KR"], "impose"),
        ("white_house", ["JP"], "impose"),
        ("ustr", ["KR"], "deal"),
    ]
    assert on_topic[0]["published_at"] == "2025-07-07T16:04:00Z"
    assert on_topic[0]["headline"] == "Letter to the President of the Republic of Korea"
    assert [u.draft["headline"] for u in unrouted] == [
        "Ambassador Meets Trade Ministers on Tariff Talks"
    ]


async def test_errors_are_counted_and_never_advance_the_position(
    kafka_settings: Settings,
) -> None:
    truncated = fixture("white_house.rss").body[:400]
    with feed_server() as (server, base):
        server.script(
            "/wh.rss",
            Answer(500, b"upstream down"),
            Answer(delay_s=1.0, body=fixture("white_house.rss").body),
            Answer(body=b"<rss", declared_length=5000),  # connection closes mid-body
            Answer(body=truncated),  # a complete answer holding half a document
            Answer(body=b"{not a feed}"),
            fixture("white_house.rss"),
        )
        source = config(base, "/wh.rss", "feed", timeout_s=0.3)
        async with harness(kafka_settings, source) as h:
            failures = []
            for _ in range(5):
                with pytest.raises((FetchFailed, MalformedDocument)) as raised:
                    await h.poller.poll_once()
                failures.append(type(raised.value).__name__)
            recovered = await h.poller.poll_once()
            fetch_errors = h.metric("mr_source_errors_total", kind="fetch")
            malformed = h.metric("mr_source_errors_total", kind="malformed")

    assert failures == ["FetchFailed"] * 3 + ["MalformedDocument"] * 2
    assert (fetch_errors, malformed) == (3, 2)
    # nothing was taken as read while failing
    assert (recovered.produced, recovered.unrouted) == (2, 1)


async def test_a_thousand_item_feed_and_a_restart(kafka_settings: Settings) -> None:
    with feed_server() as (server, base):
        server.script("/big.rss", Answer(body=rss(1000)))
        source = config(base, "/big.rss", "feed", name="notices")
        async with harness(kafka_settings, source) as h:
            first = await h.poller.poll_once()
            again = await h.poller.poll_once()
        async with harness(kafka_settings, source) as restarted:
            after_restart = await restarted.poller.poll_once()

    assert first.produced == 1000
    assert again.produced == after_restart.produced == 0
    ids = [a["id"] for a in produced(kafka_settings)]
    assert len(ids) == len(set(ids)) == 1000


async def test_failures_in_a_row_back_off_exponentially_capped(kafka_settings: Settings) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:  # the poller's clock for waiting, injected
        waits.append(seconds)
        if len(waits) == 6:
            raise asyncio.CancelledError

    with feed_server() as (server, base):
        server.script("/wh.rss", *[Answer(503)] * 4, fixture("white_house.rss"), Answer(304))
        source = config(base, "/wh.rss", "feed", interval_s=60, backoff_base_s=5, backoff_cap_s=30)
        async with harness(kafka_settings, source) as h:
            with pytest.raises(asyncio.CancelledError):
                await h.poller.run(sleep)
            errors = h.metric("mr_source_errors_total", kind="fetch")

    # 4 failures: 5, 10, 20, then capped at 30 s on top of the interval; success resets it
    assert waits == [65, 70, 80, 90, 60, 60]
    assert errors == 4
