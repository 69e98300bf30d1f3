"""API keys and CORS on a real uvicorn process (role api, real broker and store)."""

from __future__ import annotations

import httpx
import pytest
import websockets
from prometheus_client import CollectorRegistry
from websockets.typing import Origin

from services.api.auth import key_digest
from services.app import create_app
from services.settings import Settings
from tests.helpers import live_server

pytestmark = pytest.mark.kafka

KEY = "desk-7f3a9c"
DESK = "https://desk.example"


@pytest.fixture
def guarded(kafka_settings: Settings) -> Settings:
    return kafka_settings.model_copy(
        update={"api_keys_sha256": [key_digest(KEY)], "cors_origins": [DESK]}
    )


async def test_keys_guard_history_and_streams_but_not_operations(guarded: Settings) -> None:
    app = create_app(guarded, role="api", registry=CollectorRegistry())
    async with live_server(app) as base, httpx.AsyncClient(base_url=base) as http:
        missing = await http.get("/v1/reactions")
        wrong = await http.get("/v1/reactions", headers={"Authorization": "Bearer nope"})
        bearer = await http.get("/v1/reactions", headers={"Authorization": f"Bearer {KEY}"})
        token = await http.get("/v1/reactions", params={"token": KEY})
        health = await http.get("/healthz")

        ws_url = base.replace("http://", "ws://") + "/v1/signals/ws"
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(ws_url):
                pass
        async with websockets.connect(f"{ws_url}?token={KEY}") as accepted:
            assert accepted.state is websockets.State.OPEN
        sse = await http.get("/v1/signals/stream", params={"token": "nope"})
        metrics = (await http.get("/metrics")).text

    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["detail"] == "an API key is required"
    assert wrong.json()["detail"] == "the API key is not valid"
    assert bearer.status_code == token.status_code == 200
    assert health.status_code == 200
    assert refused.value.response.status_code == 403
    assert sse.status_code == 401
    assert 'mr_auth_failures_total{reason="missing"} 2.0' in metrics  # HTTP and WebSocket
    assert 'mr_auth_failures_total{reason="invalid"} 2.0' in metrics  # bearer and SSE token


async def test_cors_allows_the_configured_origin_only(guarded: Settings) -> None:
    app = create_app(guarded, role="api", registry=CollectorRegistry())
    async with live_server(app) as base, httpx.AsyncClient(base_url=base) as http:
        allowed = await http.get("/v1/reactions", params={"token": KEY}, headers={"Origin": DESK})
        other = await http.get(
            "/v1/reactions", params={"token": KEY}, headers={"Origin": "https://elsewhere.example"}
        )
    assert allowed.headers["access-control-allow-origin"] == DESK
    assert "x-next-cursor" in allowed.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in other.headers


async def test_websocket_refuses_an_origin_cors_does_not_allow(guarded: Settings) -> None:
    app = create_app(guarded, role="api", registry=CollectorRegistry())
    async with live_server(app) as base:
        ws_url = base.replace("http://", "ws://") + f"/v1/signals/ws?token={KEY}"
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(ws_url, origin=Origin("https://elsewhere.example")):
                pass
        async with websockets.connect(ws_url, origin=Origin(DESK)) as allowed:
            assert allowed.state is websockets.State.OPEN
        async with websockets.connect(ws_url) as no_origin:  # not a browser
            assert no_origin.state is websockets.State.OPEN
    assert refused.value.response.status_code == 403
