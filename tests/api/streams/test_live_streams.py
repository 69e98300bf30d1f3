"""Live streams end to end: the seed story through the real broker, a real uvicorn, and real
WebSocket (the `websockets` library) and SSE (httpx streaming) clients."""

from __future__ import annotations

import asyncio
import base64
import itertools
import random
from functools import partial

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from services.api.streams import WS_TRY_AGAIN_LATER
from services.app import create_app
from services.events import Signal
from services.settings import Settings
from tests.api.streams.clients import SMALL_RECEIVE_BUFFER, SseClient, WsClient
from tests.api.streams.story import (
    STORY,
    key,
    play_letter,
    play_prices,
    stored_log,
    story_settled,
)
from tests.factories import signal
from tests.helpers import eventually, hub_of, live_server, metric

pytestmark = pytest.mark.kafka

LETTER_ID = STORY.announcements[0].id
PADDING = [base64.b64encode(random.Random(i).randbytes(150)).decode() for i in range(100)]
"""About 20 kB more per signal, incompressible (clients negotiate permessage-deflate), so that
a stalled client fills the path to it after a few dozen."""


def strictly_increasing(values: list[int]) -> bool:
    return all(a < b for a, b in itertools.pairwise(values))


async def test_clients_see_provisional_revisions_then_the_final_one(
    kafka_settings: Settings,
) -> None:
    s = kafka_settings
    app = create_app(s, registry=CollectorRegistry())
    settled: list[Signal] = []
    async with (
        live_server(app) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
        WsClient(base) as ws,
        SseClient(http) as sse,
        WsClient(base, "instrument=KOSDAQ&final=true") as kosdaq_finals,
    ):
        await eventually(lambda: len(hub_of(app)) == 3, what="three subscribers")
        await play_letter(s, http)
        await play_prices(s, STORY.history + STORY.live)

        async def everything_delivered() -> bool:
            log = await story_settled(s, http)
            if log is None or ws.received < len(log) or sse.received < len(log):
                return False
            settled[:] = log
            return True

        await eventually(everything_delivered, timeout_s=60, what="every revision delivered")

    assert ws.signals == settled
    assert sse.signals == settled
    assert strictly_increasing(ws.cursors)
    kospi_close = [sig for sig in ws.signals if key(sig) == (LETTER_ID, "KOSPI", "close")]
    assert len(kospi_close) >= 2, "no provisional revision before the final one"
    assert [sig.final for sig in kospi_close] == [False] * (len(kospi_close) - 1) + [True]
    assert [sig.revision for sig in kospi_close] == list(range(1, len(kospi_close) + 1))
    assert kosdaq_finals.signals == [
        sig for sig in settled if sig.instrument == "KOSDAQ" and sig.final
    ]
    assert kosdaq_finals.signals


async def test_a_client_resuming_from_its_last_cursor_misses_nothing_and_repeats_nothing(
    kafka_settings: Settings,
) -> None:
    """Each client reads a few revisions and leaves; the story goes on without it; it comes
    back with its last cursor (`?cursor=` on the WebSocket, `Last-Event-ID` on SSE) while the
    story still runs. What it got before and after is exactly the stored log for its filter."""
    s = kafka_settings
    live = STORY.live
    parts = live[: len(live) // 6], live[len(live) // 6 : len(live) // 2], live[len(live) // 2 :]
    app = create_app(s, registry=CollectorRegistry())
    settled: list[Signal] = []
    async with (
        live_server(app) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
    ):
        async with (
            WsClient(base, stop_after=3) as ws_before,
            SseClient(http, "instrument=KOSPI", stop_after=2) as sse_before,
        ):
            await eventually(lambda: len(hub_of(app)) == 2, what="two subscribers")
            await play_letter(s, http)
            await play_prices(s, STORY.history + parts[0])
            await eventually(lambda: ws_before.done and sse_before.done, what="both left")
        # the server notices a client has gone a moment after the client closed its side
        await eventually(lambda: len(hub_of(app)) == 0, what="both unsubscribed")

        await play_prices(s, parts[1])  # while both are away

        async def missed_some() -> bool:
            log = await stored_log(s)
            return (
                bool(log)
                and log[-1].cursor is not None
                and log[-1].cursor > max(ws_before.last_cursor, sse_before.last_cursor) + 5
            )

        await eventually(missed_some, what="revisions stored while the clients were away")
        rest = asyncio.create_task(play_prices(s, parts[2]))
        async with (
            WsClient(base, f"cursor={ws_before.last_cursor}") as ws_after,
            SseClient(
                http,
                "instrument=KOSPI",
                headers={"Last-Event-ID": str(sse_before.last_cursor)},
            ) as sse_after,
        ):

            async def everything_delivered() -> bool:
                log = await story_settled(s, http)
                if log is None:
                    return False
                kospi = [sig for sig in log if sig.instrument == "KOSPI"]
                got_ws = ws_before.received + ws_after.received
                got_sse = sse_before.received + sse_after.received
                if got_ws < len(log) or got_sse < len(kospi):
                    return False
                settled[:] = log
                return True

            await eventually(everything_delivered, timeout_s=60, what="every revision delivered")
            await rest

    assert ws_before.signals + ws_after.signals == settled
    assert sse_before.signals + sse_after.signals == [
        sig for sig in settled if sig.instrument == "KOSPI"
    ]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("horizon=bogus", 422),
        ("min_abs_z=-1", 422),
        ("final=maybe", 422),
        ("cursor=-1", 422),
        ("from=2025-08-01T00:00:00Z&to=2025-07-01T00:00:00Z", 400),
    ],
)
async def test_a_bad_parameter_is_a_problem_not_a_stream(
    kafka_settings: Settings, query: str, status: int
) -> None:
    app = create_app(kafka_settings, role="api", registry=CollectorRegistry())
    async with live_server(app) as base, httpx.AsyncClient(base_url=base) as http:
        response = await http.get(f"/v1/signals/stream?{query}")
        assert response.status_code == status
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == status
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"{base.replace('http', 'ws', 1)}/v1/signals/ws?{query}"):
                pass
        assert 400 <= refused.value.response.status_code < 500
        assert len(hub_of(app)) == 0


async def test_a_client_that_stops_reading_is_cut_off_and_the_others_keep_receiving(
    kafka_settings: Settings,
) -> None:
    """The api role, fed through `market.signals`: a WebSocket client and an SSE client stop
    reading (small kernel receive buffers, so the path fills after a few MB); each is
    disconnected with a reason and counted, while a reading client gets every signal, in order,
    at the pace they are published."""
    s = kafka_settings.model_copy(update={"stream_queue_size": 20, "stream_send_timeout_s": 0.5})
    app = create_app(s, role="api", registry=CollectorRegistry())
    stalled_http = httpx.AsyncClient(
        transport=httpx.AsyncHTTPTransport(socket_options=[SMALL_RECEIVE_BUFFER]), timeout=30
    )
    producer = AIOKafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all", linger_ms=0)
    async with (
        live_server(app) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
        stalled_http,
        WsClient(base) as reader,
        WsClient(base, stalled=True) as stalled_ws,
        stalled_http.stream("GET", f"{base}/v1/signals/stream"),  # and never reads
    ):
        await eventually(lambda: app.state.runtime.feed.assigned, what="the feed assigned")
        await eventually(lambda: len(hub_of(app)) == 3, what="three subscribers")
        await producer.start()
        try:
            sent = await publish_until_dropped(producer, s.signals_topic, http, reader)
        finally:
            await producer.stop()
        dropped = {
            transport: await metric(http, "mr_stream_clients_dropped_total", transport=transport)
            for transport in ("ws", "sse")
        }
        stalled_ws.read()  # now it reads: what was in flight, then the end
        await eventually(lambda: stalled_ws.done, what="the stalled client sees the end")

    assert reader.cursors == list(range(1, sent + 1))
    assert dropped == {"ws": 1, "sse": 1}
    assert stalled_ws.close_code in (WS_TRY_AGAIN_LATER, 1006)  # 1006: closed without a frame
    assert stalled_ws.received < sent


async def test_a_client_that_falls_behind_is_told_why(kafka_settings: Settings) -> None:
    """With room for one pending signal, a batch of them overflows every client at once: the
    WebSocket is closed with 1013 and the reason, the SSE stream ends with `event: dropped`."""
    s = kafka_settings.model_copy(update={"stream_queue_size": 1})
    app = create_app(s, role="api", registry=CollectorRegistry())
    producer = AIOKafkaProducer(bootstrap_servers=s.kafka_bootstrap, linger_ms=100)
    async with (
        live_server(app) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
        WsClient(base) as ws,
        SseClient(http) as sse,
    ):
        await eventually(lambda: app.state.runtime.feed.assigned, what="the feed assigned")
        await eventually(lambda: len(hub_of(app)) == 2, what="two subscribers")
        await producer.start()
        try:
            for cursor in range(1, 51):  # one batch on the broker, so one poll holds many
                stored = signal(revision=cursor).model_copy(update={"cursor": cursor})
                value = orjson.dumps(stored.model_dump(mode="json"))
                await producer.send(s.signals_topic, key=b"a1|KOSPI", value=value)
            await producer.flush()
        finally:
            await producer.stop()
        await eventually(lambda: ws.done and sse.done, what="both disconnected")
        dropped = await metric(http, "mr_stream_clients_dropped_total", reason="slow_consumer")

    assert (ws.close_code, ws.close_reason) == (WS_TRY_AGAIN_LATER, "slow_consumer")
    assert (sse.dropped, sse.ended) == ("slow_consumer", True)
    assert dropped == 2


def caught_up(reader: WsClient, sent: int) -> bool:
    return reader.received >= sent


async def publish_until_dropped(
    producer: AIOKafkaProducer, topic: str, http: httpx.AsyncClient, reader: WsClient
) -> int:
    """Large signals on `topic`, ten at a time, each ten read by `reader` before the next;
    until both stalled clients are dropped, and fifty more. Returns how many were sent."""
    sent, sent_at_drop = 0, None
    while sent < 3000:
        for _ in range(10):
            sent += 1
            big = signal(revision=sent).model_copy(update={"cursor": sent, "confounders": PADDING})
            value = orjson.dumps(big.model_dump(mode="json"))
            await producer.send(topic, key=b"a1|KOSPI", value=value)
        await producer.flush()
        await eventually(partial(caught_up, reader, sent), timeout_s=10, what="the reader")
        if sent_at_drop is None:
            if await metric(http, "mr_stream_clients_dropped_total") >= 2:
                sent_at_drop = sent
        elif sent >= sent_at_drop + 50:
            return sent
    raise AssertionError("the stalled clients were never dropped")


async def test_an_api_process_streams_what_an_engine_process_publishes(
    kafka_settings: Settings,
) -> None:
    """Roles engine and api side by side on one store: the api's clients get the engine's
    signals through `market.signals`, and the api's target filter knows the announcement from
    the store."""
    s = kafka_settings
    engine = create_app(s, role="engine", registry=CollectorRegistry())
    api = create_app(s, role="api", registry=CollectorRegistry())
    settled: list[Signal] = []
    async with (
        live_server(engine) as engine_base,
        live_server(api) as api_base,
        httpx.AsyncClient(base_url=engine_base, timeout=30) as engine_http,
        httpx.AsyncClient(base_url=api_base, timeout=30) as api_http,
        WsClient(api_base) as ws,
        SseClient(api_http, "target=KR&final=true") as sse,
    ):
        await eventually(lambda: api.state.runtime.feed.assigned, what="the feed assigned")
        await eventually(lambda: len(hub_of(api)) == 2, what="two subscribers")
        await play_letter(s, engine_http)
        await play_prices(s, STORY.history + STORY.live)

        async def everything_delivered() -> bool:
            log = await story_settled(s, engine_http)
            finals = [sig for sig in log or () if sig.final]
            if log is None or ws.received < len(log) or sse.received < len(finals):
                return False
            settled[:] = log
            return True

        await eventually(everything_delivered, timeout_s=60, what="every revision delivered")
        assert (await engine_http.get("/v1/signals/stream")).status_code == 404

    assert ws.signals == settled
    assert sse.signals == [sig for sig in settled if sig.final]


async def test_an_idle_client_gets_heartbeats(kafka_settings: Settings) -> None:
    s = kafka_settings.model_copy(update={"stream_heartbeat_s": 0.1})
    app = create_app(s, role="api", registry=CollectorRegistry())
    async with (
        live_server(app) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
        WsClient(base) as ws,
        SseClient(http) as sse,
    ):
        await eventually(lambda: ws.heartbeats >= 2 and sse.comments >= 2, what="heartbeats")
    assert ws.signals == sse.signals == []
