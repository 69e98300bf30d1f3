"""Live reaction signals: WebSocket `/v1/signals/ws` and SSE `/v1/signals/stream`.

Both take the reaction filters of the history API and `cursor` to resume: first the stored
revisions after it, then live ones. Each message is one signal (the contract), and a client
that cannot keep up is disconnected with a reason instead of slowing the others."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import (
    APIRouter,
    Depends,
    Query,
    Request,
    WebSocket,
    WebSocketDisconnect,
    WebSocketException,
    status,
)
from prometheus_client import CollectorRegistry, Counter, Gauge
from sse_starlette import EventSourceResponse, ServerSentEvent
from sse_starlette.sse import SendTimeoutError
from starlette.types import Receive, Scope, Send

from services.api.deps import runtime_of
from services.api.hub import Dropped, SignalHub
from services.api.problems import ProblemError
from services.api.resume import RevisionLog, TagCache, messages_after
from services.api.v1.params import ReactionFilterDep

WS_TRY_AGAIN_LATER = 1013
"""RFC 6455 close code for a client dropped because it fell behind."""

HEARTBEAT = '{"heartbeat":true}'
CURSOR_MAX = 2**63 - 1
"""The largest cursor the store can hold (BIGINT)."""
Resume = Annotated[
    int | None,
    Query(
        ge=0,
        le=CURSOR_MAX,
        description="Resume after this cursor: stored revisions first, then live",
    ),
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
    streams = runtime_of(request).streams
    if streams is None:
        raise ProblemError(503, "live streams are not served here", kind="unavailable")
    return streams


def _ws_streams(websocket: WebSocket) -> Streams:
    streams = runtime_of(websocket).streams
    if streams is None:
        raise WebSocketException(code=status.WS_1013_TRY_AGAIN_LATER, reason="no live streams")
    return streams


def _ws_origin_allowed(websocket: WebSocket) -> None:
    """CORS does not cover WebSocket: with `MR_CORS_ORIGINS` set, a browser page from another
    origin is refused (403) before the handshake completes."""
    allowed: list[str] = getattr(websocket.app.state, "cors_origins", [])
    origin = websocket.headers.get("origin")
    if allowed and origin is not None and origin not in allowed:
        raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason="origin not allowed")


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
    if cursor is None and last_event_id.isdigit() and int(last_event_id) <= CURSOR_MAX:
        cursor = int(last_event_id)
    sent = streams.metrics.sent.labels("sse")
    clients = streams.metrics.clients.labels("sse")
    dropped_for: list[str] = []  # the reason, once this client is disconnected by the service

    def drop(reason: str) -> None:
        if not dropped_for:
            dropped_for.append(reason)
            streams.metrics.dropped.labels("sse", reason).inc()

    async def events() -> AsyncIterator[bytes | ServerSentEvent]:
        # subscribed here, not in the route: a stream that never starts must not leave one
        subscription = streams.hub.subscribe(where, streams.queue_size)
        messages = messages_after(subscription, streams.revisions, streams.tags, cursor)
        clients.inc()
        try:
            async for message in messages:
                yield message.sse
                sent.inc()
        except Dropped as dropped:
            drop(dropped.reason)
            yield ServerSentEvent(data=dropped.reason, event="dropped")
        finally:
            clients.dec()
            subscription.close()

    return _SignalEvents(
        events(),
        ping=streams.heartbeat_s,
        send_timeout=streams.send_timeout_s,
        on_send_timeout=lambda: drop("send_timeout"),
    )


class _SignalEvents(EventSourceResponse):
    """A client that stopped reading makes a send time out: that ends its stream as a counted
    drop (the server then closes the connection), not as an application error."""

    def __init__(
        self,
        content: AsyncIterator[bytes | ServerSentEvent],
        *,
        ping: float,
        send_timeout: float,
        on_send_timeout: Callable[[], None],
    ) -> None:
        super().__init__(content, ping=ping, send_timeout=send_timeout)
        self._on_send_timeout = on_send_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except SendTimeoutError:
            self._on_send_timeout()


@router.websocket("/ws")
async def websocket(
    websocket: WebSocket,
    where: ReactionFilterDep,
    streams: Annotated[Streams, Depends(_ws_streams)],
    _origin: Annotated[None, Depends(_ws_origin_allowed)],
    cursor: Resume = None,
) -> None:
    """One text message per signal revision; `{"heartbeat": true}` when idle. A client that
    falls behind is closed with code 1013 and the reason."""
    await websocket.accept()
    subscription = streams.hub.subscribe(where, streams.queue_size)
    messages = messages_after(subscription, streams.revisions, streams.tags, cursor)
    sent = streams.metrics.sent.labels("ws")
    streams.metrics.clients.labels("ws").inc()

    loop = asyncio.get_running_loop()
    last_sent_at = loop.time()

    async def send_text(text: str) -> None:
        nonlocal last_sent_at
        # a timeout context, not wait_for: no task per message (hundreds of clients each)
        async with asyncio.timeout(streams.send_timeout_s):
            await websocket.send_text(text)
        last_sent_at = loop.time()

    async def send() -> None:
        async for message in messages:
            await send_text(message.text)
            sent.inc()

    async def heartbeat() -> None:
        # beside send(), not racing it per message: a frame is written whole once writable
        while True:
            idle_s = loop.time() - last_sent_at
            if idle_s >= streams.heartbeat_s:
                await send_text(HEARTBEAT)
            else:
                await asyncio.sleep(streams.heartbeat_s - idle_s)

    async def receive() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    tasks = [asyncio.create_task(work()) for work in (send, heartbeat, receive)]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        await _stop(tasks)  # before closing: no send may follow the close frame
        error = next(iter(done)).exception()
        reason = _drop_reason(error)
        if reason is not None:
            # a hub drop while a send was blocked surfaces as the send's timeout: name the first
            reason = subscription.dropped or reason
            streams.metrics.dropped.labels("ws", reason).inc()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    websocket.close(WS_TRY_AGAIN_LATER, reason), streams.send_timeout_s
                )
    finally:
        await _stop(tasks)
        streams.metrics.clients.labels("ws").dec()
        subscription.close()


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _drop_reason(error: BaseException | None) -> str | None:
    """Why the service ends a connection; None when the client left."""
    if isinstance(error, Dropped):
        return error.reason
    if isinstance(error, TimeoutError):
        return "send_timeout"
    if error is None or isinstance(error, WebSocketDisconnect):
        return None
    raise error
