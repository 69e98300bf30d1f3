"""schemathesis against the /v1 OpenAPI document: generated requests never get a server error.

The server runs in its own thread and event loop, since schemathesis' calls are synchronous."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from services.api.v1 import ApiLimits, create_api_app
from services.store import open_store
from services.store.types import Store
from tests.api.seed import seed
from tests.helpers import thread_server


@asynccontextmanager
async def seeded_api(database: Path) -> AsyncIterator[FastAPI]:
    async with await open_store(f"sqlite+aiosqlite:///{database}") as store:
        await seed(store)
        yield create_api_app(store, ApiLimits(page_size_max=200, price_points_max=5000))


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = Path(tmp_path_factory.mktemp("schemathesis")) / "store.db"
    with thread_server(lambda: seeded_api(database), name="api-under-test") as url:
        yield url


# the document does not depend on the store: build it from an app that is never served
schema = schemathesis.openapi.from_dict(create_api_app(cast(Store, None)).openapi()).exclude(
    path="/v1/intake"
)  # needs the full service: tests/api/test_write_schemathesis.py


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case: schemathesis.Case[Any], api_url: str) -> None:
    case.call_and_validate(base_url=api_url, checks=[not_a_server_error])
