"""Real live-stream clients for the tests: a WebSocket reader (the `websockets` library) and an
SSE reader (httpx streaming, parsing `id:`/`event:`/`data:` lines by hand). Each reads in the
background and keeps every signal it received, checked against the signal contract."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Mapping
from types import TracebackType
from typing import Self

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from services.events import Signal

SIGNAL_FIELDS = frozenset(Signal.model_fields)


def contract(data: bytes | str) -> Signal:
    """One message as the signal contract: exactly its fields, valid values, a stored cursor."""
    payload = orjson.loads(data)
    assert set(payload) == SIGNAL_FIELDS, set(payload) ^ SIGNAL_FIELDS
    signal = Signal.model_validate_json(data)
    assert signal.cursor is not None
    return signal


class _Reader:
    """Reads in a background task until told to stop, or after `stop_after` signals."""

    def __init__(self, stop_after: int | None) -> None:
        self.signals: list[Signal] = []
        self.heartbeats = 0
        self._stop_after = stop_after
        self._task: asyncio.Task[None] | None = None

    @property
    def received(self) -> int:
        """How many signals so far; raises what failed the reader (a broken contract, say)."""
        if self._task is not None and self._task.done() and not self._task.cancelled():
            self._task.result()
        return len(self.signals)

    @property
    def cursors(self) -> list[int]:
        return [s.cursor for s in self.signals if s.cursor is not None]

    @property
    def last_cursor(self) -> int:
        return self.cursors[-1]

    @property
    def done(self) -> bool:
        """The reader stopped: it read `stop_after` signals, or the server ended the stream."""
        return self._task is not None and self._task.done()

    def _keep(self, signal: Signal) -> bool:
        """Returns whether to keep reading."""
        self.signals.append(signal)
        return self._stop_after is None or len(self.signals) < self._stop_after

    async def _run(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class WsClient(_Reader):
    """`/v1/signals/ws`; `close_code` and `close_reason` say how the server ended it.

    A `stalled` client connects and reads nothing (its library stops reading the socket once
    one frame is pending) until `read()`."""

    def __init__(
        self,
        base_url: str,
        query: str = "",
        *,
        stop_after: int | None = None,
        stalled: bool = False,
    ) -> None:
        super().__init__(stop_after)
        self._base_url = base_url
        self.url = base_url.replace("http://", "ws://", 1) + "/v1/signals/ws"
        if query:
            self.url += "?" + query
        self._stalled = stalled
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._connection: ClientConnection | None = None

    async def __aenter__(self) -> Self:
        if not self._stalled:
            return await super().__aenter__()
        self._connection = await connect(
            self.url, sock=await stalling_socket(self._base_url), max_queue=1
        )
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            await self.stop()
        elif self._connection is not None:
            await self._connection.close()

    def read(self) -> None:
        """A stalled client starts reading."""
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        connection = self._connection or await connect(self.url)
        try:
            async for message in connection:
                if message == '{"heartbeat":true}':
                    self.heartbeats += 1
                elif not self._keep(contract(message)):
                    break
        except ConnectionClosed:
            pass
        finally:
            await connection.close()
            self.close_code = connection.close_code
            self.close_reason = connection.close_reason


class SseClient(_Reader):
    """`/v1/signals/stream`; `dropped` holds the reason of a final `event: dropped`."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        query: str = "",
        *,
        headers: Mapping[str, str] | None = None,
        stop_after: int | None = None,
    ) -> None:
        super().__init__(stop_after)
        self._http = http
        self._url = "/v1/signals/stream" + ("?" + query if query else "")
        self._headers = dict(headers or {})
        self.dropped: str | None = None
        self.comments = 0
        self.status: int | None = None
        self.ended = False
        """The server ended the response (rather than this client leaving)."""

    async def _run(self) -> None:
        async with self._http.stream("GET", self._url, headers=self._headers) as response:
            self.status = response.status_code
            assert response.headers["content-type"].startswith("text/event-stream")
            fields: dict[str, str] = {}
            async for line in response.aiter_lines():
                if line.startswith(":"):
                    self.comments += 1
                elif line:
                    name, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    fields[name] = fields[name] + "\n" + value if name in fields else value
                elif fields:
                    if not self._dispatch(fields):
                        return
                    fields = {}
            self.ended = True

    def _dispatch(self, fields: dict[str, str]) -> bool:
        if fields.get("event") == "dropped":
            self.dropped = fields["data"]
            return True
        assert fields.get("event") == "signal", fields
        signal = contract(fields["data"])
        assert fields["id"] == str(signal.cursor)  # what Last-Event-ID will carry back
        return self._keep(signal)


SMALL_RECEIVE_BUFFER = (socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
"""A small, fixed kernel receive buffer (no autotuning): a client that stops reading then fills
the path to it after a few MB (mostly the server's send buffer) instead of tens."""


async def stalling_socket(base_url: str) -> socket.socket:
    """A socket connected to the server at `base_url`, with SMALL_RECEIVE_BUFFER."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(*SMALL_RECEIVE_BUFFER)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    return sock
