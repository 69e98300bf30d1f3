"""schemathesis over the intake routes of the full service (role api, real broker and store):
generated bodies, valid or not, never get a server error, and every answer is documented."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from prometheus_client import CollectorRegistry
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from services.api.auth import key_digest
from services.app import create_app
from services.settings import Settings
from tests.helpers import eventually

pytestmark = pytest.mark.kafka

WRITE_KEY = "fuzz-write-3a9d"
INTAKE_PATHS = ("/v1/announcements", "/v1/intake")


@pytest.fixture
def api_url(kafka_settings: Settings) -> Iterator[str]:
    writable = kafka_settings.model_copy(update={"api_write_keys_sha256": [key_digest(WRITE_KEY)]})
    started = threading.Event()
    state: dict[str, Any] = {}

    async def serve() -> None:
        app = create_app(writable, role="api", registry=CollectorRegistry())
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        server = state["server"] = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        await eventually(lambda: server.started or task.done(), what="uvicorn start")
        if server.started:
            state["port"] = server.servers[0].sockets[0].getsockname()[1]
        started.set()
        await task

    def run() -> None:
        try:
            asyncio.run(serve())
        finally:
            started.set()

    thread = threading.Thread(target=run, name="write-api-under-test", daemon=True)
    thread.start()
    assert started.wait(60), "the API did not start in 60 s"
    assert "port" in state, "the API failed to start"
    yield f"http://127.0.0.1:{state['port']}"
    state["server"].should_exit = True
    thread.join(30)


document = create_app(Settings(), role="api", registry=CollectorRegistry()).openapi()
schema = schemathesis.openapi.from_dict(
    {**document, "paths": {p: document["paths"][p] for p in INTAKE_PATHS}}
)


# schemathesis' own negative-data strategies draw from `random` here; not this service's doing
@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_intake_routes_answer_as_documented(case: schemathesis.Case, api_url: str) -> None:
    case.call_and_validate(
        base_url=api_url,
        headers={"Authorization": f"Bearer {WRITE_KEY}"},
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )
