"""GET /v1/studies and GET /v1/reactions?as_of= over a real uvicorn and a store (SQLite and
PostgreSQL) written through its ordinary write path."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import polars as pl
import pytest

from services.api.v1 import create_api_app
from services.engine import load_registry
from services.frames import prices_frame
from services.store import SqlStore, StoreBatch
from services.study.assemble import assemble_study
from services.study.closes import SessionCloses
from services.study.params import StudyParams
from services.study.sample import study_sample
from tests.factories import signal
from tests.helpers import live_server

PROBLEM = "application/problem+json"
SAMPLE = study_sample(seed=3, sessions=220, events=8)
REGISTRY = load_registry()


@pytest.fixture
async def client(store: SqlStore) -> AsyncIterator[httpx.AsyncClient]:
    store.close_finder = SessionCloses(REGISTRY)
    frame = prices_frame(SAMPLE.prices)
    # in two batches, the second repeating part of the first: the merge keeps one close each
    await store.write_batch(StoreBatch(SAMPLE.announcements, frame.slice(0, 300)))
    await store.write_batch(StoreBatch((), frame.slice(200)))
    app = create_api_app(store, instruments=REGISTRY)
    async with live_server(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield http


async def test_study_json_csv_and_parquet(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/studies", params={"instrument": "KOSPI"})
    assert response.status_code == 200, response.text
    body = response.json()
    closes = SessionCloses(REGISTRY).of_prices(prices_frame(SAMPLE.prices))
    expected = assemble_study(SAMPLE.announcements, closes, REGISTRY, "KOSPI", StudyParams())
    assert body == expected.as_dict()
    assert body["n"] + body["n_left_out"] == len(SAMPLE.announcements)
    assert [p["tau"] for p in body["path"]] == [0, 1, 2, 3, 4, 5]

    csv = await client.get(
        "/v1/studies", params={"instrument": "KOSPI"}, headers={"Accept": "text/csv"}
    )
    assert csv.headers["content-type"].startswith("text/csv")
    frame = pl.read_csv(io.StringIO(csv.text))
    assert frame["announcement_id"].to_list() == [e["announcement_id"] for e in body["events"]]
    assert frame["car_pct"].to_list() == pytest.approx([e["car_pct"] for e in body["events"]])

    parquet = await client.get("/v1/studies", params={"instrument": "KOSPI", "format": "parquet"})
    assert pl.read_parquet(io.BytesIO(parquet.content)).height == len(body["events"])


@pytest.mark.parametrize(
    ("params", "says"),
    [
        # KOSPI has no benchmark in the registry
        ({"instrument": "KOSPI", "model": "market"}, "needs a benchmark"),
        ({"instrument": "KOSPI", "model": "market_model"}, "needs a benchmark"),
        ({"instrument": "KOSPI", "window": "5,0"}, "inverted"),
        ({"instrument": "KOSPI", "estimation": "-11,-130"}, "inverted"),
        # the estimation window must end before τ1
        ({"instrument": "KOSPI", "estimation": "-130,0"}, "overlaps"),
        ({"instrument": "KOSPI", "window": "-12,5"}, "overlaps"),
        ({"instrument": "NOPE"}, "unknown instrument"),
    ],
)
async def test_study_problems(client: httpx.AsyncClient, params: dict[str, str], says: str) -> None:
    response = await client.get("/v1/studies", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM)
    assert says in response.json()["detail"]


async def test_study_malformed_window_is_a_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/studies", params={"instrument": "KOSPI", "window": "0;5"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM)


async def test_study_as_of_sees_only_what_was_known(client: httpx.AsyncClient) -> None:
    anns = sorted(SAMPLE.announcements, key=lambda a: a.published_at)
    # just before the last announcement: it is unknown, and so are the later closes
    t = anns[-1].published_at - timedelta(seconds=1)
    then = await client.get("/v1/studies", params={"instrument": "KOSPI", "as_of": t.isoformat()})
    assert then.status_code == 200, then.text
    ids = [e["announcement_id"] for e in then.json()["events"]]
    assert ids == [e["announcement_id"] for e in (await _full(client))["events"]][: len(ids)]
    assert anns[-1].id not in ids
    # events whose window had not closed by then have no CAR yet (left out, never invented)
    full = {e["announcement_id"]: e for e in (await _full(client))["events"]}
    for e in then.json()["events"]:
        if e["car_pct"] is not None:
            assert e["car_pct"] == pytest.approx(full[e["announcement_id"]]["car_pct"])


async def _full(client: httpx.AsyncClient) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get("/v1/studies", params={"instrument": "KOSPI"})).json()
    return body


async def test_reactions_as_of_returns_the_revision_known_then(store: SqlStore) -> None:
    provisional = signal("a", revision=1, final=False, return_pct=0.8)
    final = signal("a", revision=2, final=True, return_pct=1.5)
    other = signal("b", revision=1, final=True, day=1)
    await store.write_batch(StoreBatch(signals=[provisional, final, other]))
    app = create_api_app(store, instruments=REGISTRY)
    async with live_server(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:

        async def at(t: object, **params: str) -> list[tuple[str, int, bool]]:
            response = await http.get("/v1/reactions", params={"as_of": str(t), **params})
            assert response.status_code == 200, response.text
            return [
                (r["announcement_id"], r["revision"], r["final"]) for r in response.json()["items"]
            ]

        between = provisional.emitted_at + (final.emitted_at - provisional.emitted_at) / 2
        assert await at(between.isoformat(), instrument="KOSPI") == [("a", 1, False)]
        assert await at(final.emitted_at.isoformat()) == [("a", 2, True)]
        assert await at(other.emitted_at.isoformat()) == [("a", 2, True), ("b", 1, True)]
        # the filters apply to the revision known then: `a` was not final yet
        assert await at(between.isoformat(), final="true") == []
        before = provisional.emitted_at - timedelta(microseconds=1)
        assert await at(before.isoformat()) == []
        # without as_of: the latest revision
        latest = (await http.get("/v1/reactions")).json()["items"]
        assert [(r["announcement_id"], r["revision"]) for r in latest] == [("a", 2), ("b", 1)]
