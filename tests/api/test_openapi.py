"""schemathesis against the /v1 OpenAPI document: generated requests never get a server error.

The server runs in its own thread and event loop, since schemathesis' calls are synchronous."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from services.api.v1 import ApiLimits, create_api_app
from services.store import open_store
from services.store.types import HistoryReader
from tests.api.seed import seed
from tests.helpers import eventually


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = Path(tmp_path_factory.mktemp("schemathesis")) / "store.db"
    started = threading.Event()
    state: dict[str, Any] = {}

    async def serve() -> None:
        async with await open_store(f"sqlite+aiosqlite:///{database}") as store:
            await seed(store)
            app = create_api_app(store, ApiLimits(page_size_max=200, price_points_max=5000))
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

    thread = threading.Thread(target=run, name="api-under-test", daemon=True)
    thread.start()
    assert started.wait(60), "the API did not start in 60 s"
    assert "port" in state, "the API failed to start"
    yield f"http://127.0.0.1:{state['port']}"
    state["server"].should_exit = True
    thread.join(30)


# the document does not depend on the store: build it from an app that is never served
schema = schemathesis.openapi.from_dict(
    create_api_app(cast(HistoryReader, None)).openapi()
).exclude(path="/v1/intake")  # needs the full service: tests/api/test_write_schemathesis.py


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case: schemathesis.Case, api_url: str) -> None:
    case.call_and_validate(base_url=api_url, checks=[not_a_server_error])
