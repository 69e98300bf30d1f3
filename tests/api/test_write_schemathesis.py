"""schemathesis over the intake routes of the full service (role api, real broker and store):
generated bodies, valid or not, never get a server error, and every answer is documented."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
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
from tests.helpers import thread_server

pytestmark = pytest.mark.kafka

WRITE_KEY = "fuzz-write-3a9d"
INTAKE_PATHS = ("/v1/announcements", "/v1/intake")


@pytest.fixture
def api_url(kafka_settings: Settings) -> Iterator[str]:
    writable = kafka_settings.model_copy(update={"api_write_keys_sha256": [key_digest(WRITE_KEY)]})

    def app() -> nullcontext[FastAPI]:
        return nullcontext(create_app(writable, role="api", registry=CollectorRegistry()))

    with thread_server(app, name="write-api-under-test") as url:
        yield url


document = create_app(Settings(), role="api", registry=CollectorRegistry()).openapi()
schema = schemathesis.openapi.from_dict(
    {**document, "paths": {p: document["paths"][p] for p in INTAKE_PATHS}}
)


# schemathesis' own negative-data strategies draw from `random` here; not this service's doing
@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_intake_routes_answer_as_documented(case: schemathesis.Case[Any], api_url: str) -> None:
    case.call_and_validate(
        base_url=api_url,
        headers={"Authorization": f"Bearer {WRITE_KEY}"},
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )
