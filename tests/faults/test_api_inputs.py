"""Hostile HTTP input: a cursor beyond 64 bits once answered 500 and reset the connection, and an
API key passed as `?token=` was written to the access log in clear text."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn
import websockets
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.api.auth import key_digest
from services.api.v1.cursors import encode_announcement_key, encode_reaction_key
from services.app import create_app
from services.settings import Settings
from services.store.filters import AnnouncementKey, ReactionKey
from tests.helpers import eventually

pytestmark = pytest.mark.kafka

KEY = "desk-secret-5be1d2"
HUGE = 2**64


@asynccontextmanager
async def server_with_access_log(app: FastAPI) -> AsyncIterator[str]:
    """A real uvicorn that writes its access log as `serve` does (through the root logger)."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="info", log_config=None, access_log=True
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started or task.done(), what="uvicorn start")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
def api_settings(kafka_settings: Settings, postgres_url: str) -> Settings:
    return kafka_settings.model_copy(
        update={"database_url": postgres_url, "api_keys_sha256": [key_digest(KEY)]}
    )


async def test_an_oversized_cursor_is_a_client_error(api_settings: Settings) -> None:
    app = create_app(api_settings, role="api", registry=CollectorRegistry())
    auth = {"Authorization": f"Bearer {KEY}"}
    async with (
        server_with_access_log(app) as host,
        httpx.AsyncClient(base_url=f"http://{host}", headers=auth) as http,
    ):
        pages = [
            ("/v1/reactions", encode_reaction_key(ReactionKey(HUGE, "a", "KOSPI", "close"))),
            ("/v1/announcements", encode_announcement_key(AnnouncementKey(HUGE, "a"))),
            ("/v1/announcements", encode_announcement_key(AnnouncementKey(-HUGE, "a"))),
        ]
        for path, cursor in pages:
            answer = await http.get(path, params={"cursor": cursor})
            assert answer.status_code == 400, (path, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
        stream = await http.get("/v1/signals/stream", params={"cursor": HUGE})
        assert stream.status_code == 422
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(f"ws://{host}/v1/signals/ws?cursor={HUGE}&token={KEY}"):
                pass
        assert 400 <= refused.value.response.status_code < 500
        assert (await http.get("/v1/reactions")).status_code == 200  # still serving


async def test_a_key_in_the_query_string_never_reaches_the_log(
    api_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    app = create_app(api_settings, role="api", registry=CollectorRegistry())
    async with server_with_access_log(app) as host, httpx.AsyncClient() as http:
        answer = await http.get(f"http://{host}/v1/reactions", params={"token": KEY})
        assert answer.status_code == 200
        async with websockets.connect(f"ws://{host}/v1/signals/ws?token={KEY}"):
            pass
        await eventually(
            lambda: sum("token=REDACTED" in line for line in service_lines(caplog)) >= 2,
            what="the HTTP and WebSocket access lines",
        )
    assert [line for line in service_lines(caplog) if KEY in line] == []


def service_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the server logged (the test's own HTTP client logs its URLs too)."""
    return [r.getMessage() for r in caplog.records if r.name.startswith(("uvicorn", "services"))]
