"""Live reaction signals: WebSocket `/v1/signals/ws` and SSE `/v1/signals/stream`.

Both take the reaction filters of the history API and `cursor` to resume: first the stored
revisions after it, then live ones. Each message is one signal (the contract), and a client
that cannot keep up is disconnected with a reason instead of slowing the others."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, WebSocket, WebSocketDisconnect
from prometheus_client import CollectorRegistry, Counter, Gauge
from sse_starlette import EventSourceResponse, ServerSentEvent

from services.api.hub import Dropped, SignalHub
from services.api.resume import RevisionLog, TagCache, messages_after
from services.api.v1.params import ReactionFilterDep

WS_TRY_AGAIN_LATER = 1013
"""RFC 6455 close code for a client dropped because it fell behind."""

HEARTBEAT = '{"heartbeat":true}'
Resume = Annotated[
    int | None,
    Query(ge=0, description="Resume after this cursor: stored revisions first, then live"),
]


@dataclass(frozen=True, slots=True)
class StreamMetrics:
    clients: Gauge
    sent: Counter
    dropped: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> StreamMetrics:
        metrics = cls(
            clients=Gauge(
                "mr_stream_clients", "Connected live clients.", ["transport"], registry=registry
            ),
            sent=Counter(
                "mr_stream_messages_sent",
                "Signals sent to live clients.",
                ["transport"],
                registry=registry,
            ),
            dropped=Counter(
                "mr_stream_clients_dropped",
                "Live clients disconnected by the service, by reason.",
                ["transport", "reason"],
                registry=registry,
            ),
        )
        for transport in ("ws", "sse"):
            metrics.clients.labels(transport)
            metrics.sent.labels(transport)
        return metrics


@dataclass(frozen=True, slots=True)
class Streams:
    """What the stream routes need; the app's lifespan makes it."""

    hub: SignalHub
    tags: TagCache
    revisions: RevisionLog
    metrics: StreamMetrics
    queue_size: int
    heartbeat_s: float
    send_timeout_s: float


def _streams(request: Request) -> Streams:
    streams: Streams = request.app.state.streams
    return streams


def _ws_streams(websocket: WebSocket) -> Streams:
    streams: Streams = websocket.app.state.streams
    return streams


router = APIRouter(prefix="/v1/signals", tags=["live signals"])


@router.get(
    "/stream",
    summary="Server-sent events: every revision of the matching reactions as it forms",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(
    request: Request,
    where: ReactionFilterDep,
    streams: Annotated[Streams, Depends(_streams)],
    cursor: Resume = None,
) -> EventSourceResponse:
    """`event: signal` with `id:` the revision's cursor (a browser's EventSource resumes from
    it by itself through Last-Event-ID), comment pings as heartbeats, and a final
    `event: dropped` when the service disconnects a client that fell behind."""
    last_event_id = request.headers.get("last-event-id", "")
    if cursor is None and last_event_id.isdigit():
        cursor = int(last_event_id)
    subscription = streams.hub.subscribe(where, streams.queue_size)
    messages = messages_after(subscription, streams.revisions, streams.tags, cursor)
    sent = streams.metrics.sent.labels("sse")
    clients = streams.metrics.clients.labels("sse")

    async def events() -> AsyncIterator[bytes | ServerSentEvent]:
        clients.inc()
        try:
            async for message in messages:
                yield message.sse
                sent.inc()
        except Dropped as dropped:
            streams.metrics.dropped.labels("sse", dropped.reason).inc()
            yield ServerSentEvent(data=dropped.reason, event="dropped")
        finally:
            clients.dec()
            subscription.close()

    return EventSourceResponse(
        events(), ping=streams.heartbeat_s, send_timeout=streams.send_timeout_s
    )


@router.websocket("/ws")
async def websocket(
    websocket: WebSocket,
    where: ReactionFilterDep,
    streams: Annotated[Streams, Depends(_ws_streams)],
    cursor: Resume = None,
) -> None:
    """One text message per signal revision; `{"heartbeat": true}` when idle. A client that
    falls behind is closed with code 1013 and the reason."""
    await websocket.accept()
    subscription = streams.hub.subscribe(where, streams.queue_size)
    messages = messages_after(subscription, streams.revisions, streams.tags, cursor)
    sent = streams.metrics.sent.labels("ws")
    streams.metrics.clients.labels("ws").inc()

    async def send() -> None:
        # the pending read survives heartbeats: cancelling it would close the generator
        upcoming = asyncio.ensure_future(anext(messages))
        try:
            while True:
                done, _ = await asyncio.wait({upcoming}, timeout=streams.heartbeat_s)
                if not done:
                    await asyncio.wait_for(websocket.send_text(HEARTBEAT), streams.send_timeout_s)
                    continue
                message = upcoming.result()
                upcoming = asyncio.ensure_future(anext(messages))
                await asyncio.wait_for(websocket.send_text(message.text), streams.send_timeout_s)
                sent.inc()
        finally:
            upcoming.cancel()

    async def receive() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    tasks = [asyncio.create_task(send()), asyncio.create_task(receive())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        error = next(iter(done)).exception()
        reason = _drop_reason(error)
        if reason is not None:
            streams.metrics.dropped.labels("ws", reason).inc()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    websocket.close(WS_TRY_AGAIN_LATER, reason), streams.send_timeout_s
                )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        streams.metrics.clients.labels("ws").dec()
        subscription.close()


def _drop_reason(error: BaseException | None) -> str | None:
    """Why the service ends a connection; None when the client left."""
    if isinstance(error, Dropped):
        return error.reason
    if isinstance(error, TimeoutError):
        return "send_timeout"
    if error is None or isinstance(error, WebSocketDisconnect):
        return None
    raise error
