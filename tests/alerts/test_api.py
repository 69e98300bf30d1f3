"""`/v1/alerts/subscriptions` over HTTP: write keys, the secret shown once, the state, and the
refusal of targets inside the platform (nothing is ever sent to them: literal addresses are
refused before any lookup or connection)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Depends, FastAPI
from prometheus_client import CollectorRegistry

from services.api import alerts
from services.api.auth import ApiKeys, key_digest, require_api_key
from services.api.deps import Runtime
from services.api.problems import install_problem_handlers
from services.store import SqlStore

READ_KEY, WRITE_KEY = "read-key", "write-key"
URL = "/v1/alerts/subscriptions"
BODY = {
    "url": "http://127.0.0.1:9/hook",
    "filter": {"instrument": "KOSPI", "horizon": "close", "final_only": True, "min_abs_z": 1.5},
    "format": "json",
}


async def no_lookup(host: str, port: int) -> list[str]:
    raise AssertionError(f"{host} must be refused before any lookup")


def alerts_app(store: SqlStore, *, read: list[str], write: list[str]) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    registry = CollectorRegistry()
    app.state.api_keys = ApiKeys.create(read, registry, write)
    app.state.runtime = Runtime(
        registry=registry,
        store=store,
        alerts=alerts.AlertsRuntime(store.alerts, frozenset({"127.0.0.1"}), no_lookup),
    )
    app.include_router(alerts.router, dependencies=[Depends(require_api_key)])
    return app


@pytest.fixture
async def http(store: SqlStore) -> AsyncIterator[httpx.AsyncClient]:
    app = alerts_app(store, read=[key_digest(READ_KEY)], write=[key_digest(WRITE_KEY)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("https://169.254.169.254/", "169.254.169.254 is a link-local address"),
        ("https://10.0.0.1/hook", "10.0.0.1 is a private address"),
        ("http://10.0.0.1/hook", "10.0.0.1 is a private address"),
        ("https://[::ffff:10.0.0.1]/hook", "is a private address"),
        ("http://desk.example/hook", "must be https"),
    ],
)
async def test_targets_inside_the_platform_are_refused_with_the_reason(
    http: httpx.AsyncClient, store: SqlStore, url: str, why: str
) -> None:
    response = await http.post(URL, json={**BODY, "url": url}, headers=bearer(WRITE_KEY))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/problems/unsafe-target"
    assert why in problem["detail"]
    assert await store.alerts.subscriptions() == []


async def test_the_secret_is_returned_once_and_the_state_is_shown(
    http: httpx.AsyncClient,
) -> None:
    created = await http.post(URL, json=BODY, headers=bearer(WRITE_KEY))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert len(body["secret"]) > 30
    assert created.headers["location"] == f"{URL}/{body['id']}"
    assert body["filter"]["min_abs_z"] == 1.5
    assert body["enabled"] is True

    one = await http.get(f"{URL}/{body['id']}", headers=bearer(READ_KEY))
    assert one.status_code == 200
    shown = one.json()
    assert "secret" not in shown
    assert shown["url"] == "http://127.0.0.1:9/…"  # a path may hold a token
    assert shown["outbox"] == {"pending": 0, "delivered": 0, "dead": 0}
    listed = await http.get(URL, headers=bearer(WRITE_KEY))  # a write key reads too
    assert [s["id"] for s in listed.json()] == [body["id"]]

    replayed = await http.post(
        f"{URL}/{body['id']}/replay",
        json={"from_cursor": 5, "to_cursor": 1},
        headers=bearer(WRITE_KEY),
    )
    assert replayed.status_code == 400
    assert "before from_cursor" in replayed.json()["detail"]

    gone = await http.delete(f"{URL}/{body['id']}", headers=bearer(WRITE_KEY))
    assert gone.status_code == 204
    again = await http.get(f"{URL}/{body['id']}", headers=bearer(READ_KEY))
    assert again.status_code == 404
    assert again.headers["content-type"] == "application/problem+json"


async def test_writes_need_a_write_key(http: httpx.AsyncClient) -> None:
    missing = await http.post(URL, json=BODY)
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    read_only = await http.post(URL, json=BODY, headers=bearer(READ_KEY))
    assert read_only.status_code == 403  # known, but may only read
    assert read_only.json()["detail"] == "the API key may read but not write"
    assert READ_KEY not in read_only.text
    unknown = await http.get(URL, headers=bearer("nobody"))
    assert unknown.status_code == 401


async def test_writes_are_disabled_without_a_write_key(store: SqlStore) -> None:
    app = alerts_app(store, read=[], write=[])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        refused = await http.post(URL, json=BODY, headers=bearer(WRITE_KEY))
        assert refused.status_code == 403
        assert refused.json()["detail"] == "writes are disabled: no write key is configured"
        assert (await http.get(URL)).status_code == 200  # reads stay open without read keys


async def test_a_bad_filter_is_a_422(http: httpx.AsyncClient) -> None:
    body = {**BODY, "filter": {"instrument": "KOSPI", "min_abs_z": -1, "colour": "red"}}
    response = await http.post(URL, json=body, headers=bearer(WRITE_KEY))
    assert response.status_code == 422
    assert {tuple(e["loc"][-1:]) for e in response.json()["errors"]} == {
        ("min_abs_z",),
        ("colour",),
    }
