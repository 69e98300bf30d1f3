"""The /v1 API over a real uvicorn and a seeded store (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import io
import math
import statistics
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from services.api.v1 import ApiLimits, create_api_app
from services.api.v1.cursors import encode_announcement_key
from services.settings import Settings
from services.store import SqlStore, StoreBatch
from services.store.filters import AnnouncementKey
from tests.api.seed import seed
from tests.factories import T0, signal
from tests.helpers import live_server

PROBLEM = "application/problem+json"
TIMES = ["anchor_at", "base_at", "last_at", "peak_at", "emitted_at"]


@pytest.fixture
async def client(store: SqlStore) -> AsyncIterator[httpx.AsyncClient]:
    await seed(store)
    app = create_api_app(
        store, ApiLimits(page_size_max=50, export_rows_max=500, price_points_max=2000)
    )
    async with live_server(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield http


def keys(items: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(i["announcement_id"], i["instrument"], i["horizon"]) for i in items]


async def test_filters(client: httpx.AsyncClient) -> None:
    async def listed(**params: Any) -> list[tuple[str, str, str]]:
        response = await client.get("/v1/reactions", params=params)
        assert response.status_code == 200, response.text
        return keys(response.json()["items"])

    everything = await listed()
    assert everything == [
        ("a1", "005380.KS", "close"),
        ("a1", "KOSPI", "close"),
        ("a2", "KOSPI", "close"),
        ("a2", "NIKKEI", "close"),
        ("a3", "NIKKEI", "5m"),
        ("a3", "NIKKEI", "close"),
    ]
    assert await listed(instrument="NIKKEI") == everything[3:]
    assert await listed(target="JP") == everything[2:]
    assert await listed(sector="autos") == everything[:2]
    assert await listed(action="raise") == everything[2:4]
    assert await listed(horizon="5m") == [everything[4]]
    assert await listed(final="false") == [everything[4]]
    assert await listed(final="true", horizon="close") == [*everything[:4], everything[5]]
    assert await listed(min_abs_z=2) == everything[:2]
    day1 = T0 + timedelta(days=1)
    assert (
        await listed(**{"from": day1.isoformat(), "to": (day1 + timedelta(days=1)).isoformat()})
        == everything[2:4]
    )


async def test_latest_revision_listed_and_every_revision_kept(client: httpx.AsyncClient) -> None:
    page = (await client.get("/v1/reactions", params={"instrument": "KOSPI"})).json()
    assert [(i["announcement_id"], i["revision"]) for i in page["items"]] == [("a1", 2), ("a2", 1)]
    history = (await client.get("/v1/reactions/a1/KOSPI/close/revisions")).json()
    assert [r["revision"] for r in history["revisions"]] == [1, 2]
    assert history["revisions"][0]["cursor"] < history["revisions"][1]["cursor"]

    detail = (await client.get("/v1/announcements/a1")).json()
    assert detail["action"] == "impose"
    assert sorted((r["instrument"], r["revision"]) for r in detail["reactions"]) == [
        ("005380.KS", 1),
        ("KOSPI", 2),
    ]
    listed = (await client.get("/v1/announcements", params={"target": "JP"})).json()
    assert [a["id"] for a in listed["items"]] == ["a2", "a3"]


async def test_pages_have_no_gap_or_repeat_under_concurrent_inserts(
    client: httpx.AsyncClient, store: SqlStore
) -> None:
    before = keys((await client.get("/v1/reactions", params={"limit": 50})).json()["items"])
    stop = asyncio.Event()

    async def insert() -> None:
        n = 0
        while not stop.is_set():
            # new reactions before, between and after the seeded ones, and new revisions
            batch = [
                signal(f"new{n}", "KOSPI", "close", day=n % 5 - 1),
                signal("a2", "KOSPI", "close", 10 + n, day=1),
            ]
            await store.write_batch(StoreBatch(signals=batch))
            n += 1
            await asyncio.sleep(0)

    writer = asyncio.create_task(insert())
    seen: list[tuple[str, str, str]] = []
    cursor = None
    try:
        while True:
            params: dict[str, Any] = {"limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get("/v1/reactions", params=params)).json()
            seen += keys(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
    finally:
        stop.set()
        await writer
    assert len(seen) == len(set(seen)), "a reaction was listed twice"
    assert set(before) <= set(seen), "a reaction stored before the walk was skipped"
    assert seen == sorted(seen, key=lambda k: (_anchor_order(k), k)), seen


def _anchor_order(key: tuple[str, str, str]) -> int:
    days = {"a1": 0, "a2": 1, "a3": 2}
    name = key[0]
    return days[name] if name in days else int(name[3:]) % 5 - 1


async def test_csv_and_parquet_hold_the_json_rows(client: httpx.AsyncClient) -> None:
    params = {"limit": 5}  # the fifth row has a confounder, the fourth a null z_score
    page = (await client.get("/v1/reactions", params=params)).json()
    expected = pl.DataFrame(page["items"], infer_schema_length=None).with_columns(
        *(pl.col(c).str.to_datetime(time_unit="us", time_zone="UTC") for c in TIMES),
        pl.col("confounders").cast(pl.List(pl.String)),
    )
    assert expected.height == 5

    csv = await client.get("/v1/reactions", params=params, headers={"Accept": "text/csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["x-next-cursor"] == page["next_cursor"]
    float_columns = pl.Schema(
        {c: pl.Float64 for c, t in expected.schema.items() if t in (pl.Float64, pl.Null)}
    )
    from_csv = pl.read_csv(
        io.BytesIO(csv.content), try_parse_dates=True, schema_overrides=float_columns
    )
    assert_frame_equal(
        from_csv,
        expected.with_columns(pl.col("confounders").list.join(";")).cast(float_columns),
        check_dtypes=False,
    )

    parquet = await client.get("/v1/reactions", params={**params, "format": "parquet"})
    assert parquet.headers["content-type"] == "application/vnd.apache.parquet"
    from_parquet = pl.read_parquet(io.BytesIO(parquet.content))
    assert_frame_equal(
        from_parquet,
        expected.cast(float_columns),
        check_dtypes=False,
    )


async def test_stats_match_a_hand_computation(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/stats/reactions", params={"group_by": "action", "horizon": "close"}
    )
    assert response.status_code == 200, response.text
    groups = {g["group"]: g for g in response.json()["groups"]}
    # final close reactions: impose → a1 KOSPI 1.0, a1 005380.KS −2.0, a3 NIKKEI 0.5;
    # raise → a2 KOSPI 3.0, a2 NIKKEI −1.0
    impose, raise_ = [1.0, -2.0, 0.5], [3.0, -1.0]
    for name, values in (("impose", impose), ("raise", raise_)):
        g = groups[name]
        std = statistics.stdev(values)
        assert g["n"] == len(values)
        assert g["mean"] == pytest.approx(statistics.mean(values))
        assert g["median"] == pytest.approx(statistics.median(values))
        assert g["std"] == pytest.approx(std)
        assert g["t_stat"] == pytest.approx(
            statistics.mean(values) / (std / math.sqrt(len(values)))
        )
        assert g["hit_rate"] == pytest.approx(sum(v > 0 for v in values) / len(values))
        assert (g["min"], g["max"]) == (min(values), max(values))
    assert groups["raise"]["t_stat"] == pytest.approx(0.5)  # mean 1, std 2√2, n 2

    by_target = (
        await client.get("/v1/stats/reactions", params={"group_by": "target", "horizon": "close"})
    ).json()
    assert {g["group"]: g["n"] for g in by_target["groups"]} == {"JP": 3, "KR": 4}
    open_too = (
        await client.get(
            "/v1/stats/reactions",
            params={"group_by": "instrument", "horizon": "5m", "final": "false"},
        )
    ).json()
    assert [(g["group"], g["n"], g["std"], g["t_stat"]) for g in open_too["groups"]] == [
        ("NIKKEI", 1, None, None)
    ]


async def test_prices_resampled(client: httpx.AsyncClient) -> None:
    params = {"from": T0.isoformat(), "to": (T0 + timedelta(hours=1)).isoformat(), "interval": "5m"}
    bars = (await client.get("/v1/prices/KOSPI", params=params)).json()["bars"]
    # minutes 0-4, 5-9, 10-11 of bars open=100+m, high=101+m, low=99.5+m, close=100.5+m
    assert [(b["open"], b["high"], b["low"], b["close"]) for b in bars] == [
        (100.0, 105.0, 99.5, 104.5),
        (105.0, 110.0, 104.5, 109.5),
        (110.0, 112.0, 109.5, 111.5),
    ]
    assert bars[1]["ts"] == "2025-07-07T00:05:00Z"
    hourly = (await client.get("/v1/prices/KOSPI", params={**params, "interval": "1h"})).json()[
        "bars"
    ]
    assert [(b["open"], b["close"]) for b in hourly] == [(100.0, 111.5)]
    daily = (await client.get("/v1/prices/KOSPI", params={**params, "interval": "1d"})).json()[
        "bars"
    ]
    assert [(b["open"], b["high"], b["close"]) for b in daily] == [(100.0, 112.0, 111.5)]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)  # not about the back-end
@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/v1/reactions", {"horizon": "fortnight"}, 422),  # unknown horizon
        ("/v1/reactions", {"from": "2025-08-01T00:00:00Z", "to": "2025-07-01T00:00:00Z"}, 400),
        ("/v1/reactions", {"from": "2025-07-01"}, 422),  # a date, not a time with a zone
        ("/v1/reactions", {"from": "1751904240"}, 422),  # epoch seconds, not RFC 3339
        ("/v1/reactions", {"to": "9999-12-31T23:59:59-14:00"}, 422),  # beyond the calendar
        ("/v1/reactions", {"cursor": "not-a-cursor!"}, 400),
        ("/v1/reactions", {"cursor": "bm90IGpzb24"}, 400),  # base64 of "not json"
        ("/v1/reactions", {"cursor": encode_announcement_key(AnnouncementKey(1, "a1"))}, 400),
        ("/v1/reactions", {"limit": 0}, 422),
        ("/v1/reactions", {"limit": 51}, 400),  # above the hard page size
        ("/v1/reactions", {"limit": 501, "format": "csv"}, 400),  # above the export maximum
        ("/v1/reactions", {"min_abs_z": -1}, 422),
        ("/v1/reactions", {"final": "maybe"}, 422),
        ("/v1/reactions", {"action": "annex"}, 422),
        ("/v1/reactions", {"format": "xlsx"}, 422),
        ("/v1/announcements", {"target": "korea"}, 422),
        ("/v1/announcements", {"cursor": "e30"}, 400),
        # keys beyond 64 bits: the store's BIGINT cannot compare them
        (
            "/v1/announcements",
            {"cursor": encode_announcement_key(AnnouncementKey(2**64, "a"))},
            400,
        ),
        (
            "/v1/announcements",
            {"cursor": encode_announcement_key(AnnouncementKey(-(2**70), "a"))},
            400,
        ),
        ("/v1/announcements/nope", {}, 404),
        ("/v1/reactions/a1/KOSPI/close/revisions", {}, 200),
        ("/v1/reactions/a1/KOSPI/close+2/revisions", {}, 404),
        ("/v1/reactions/a1/KOSPI/someday/revisions", {}, 422),
        ("/v1/stats/reactions", {"horizon": "close"}, 422),  # group_by is required
        ("/v1/stats/reactions", {"group_by": "colour", "horizon": "close"}, 422),
        ("/v1/stats/reactions", {"group_by": "action"}, 422),  # horizon is required
        ("/v1/prices/KOSPI", {"from": "2000-01-01T00:00:00Z", "to": "2025-01-01T00:00:00Z"}, 400),
        ("/v1/prices/KOSPI", {"from": "2025-01-02T00:00:00Z", "to": "2025-01-01T00:00:00Z"}, 400),
        ("/v1/prices/KOSPI", {"to": "2025-01-01T00:00:00Z"}, 422),
        (
            "/v1/prices/KOSPI",
            {"from": "2025-01-01T00:00:00Z", "to": "2025-01-02T00:00:00Z", "interval": "2m"},
            422,
        ),
        ("/v1/nowhere", {}, 404),
    ],
)
async def test_bad_parameters_get_problem_details(
    client: httpx.AsyncClient, path: str, params: dict[str, Any], status: int
) -> None:
    response = await client.get(path, params=params)
    assert response.status_code == status, response.text
    if status == 200:
        return
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == status
    assert problem["title"]
    assert problem["detail"]
    assert problem["instance"] == path


def test_the_service_app_serves_v1_with_problem_details(tmp_path: Any) -> None:
    from services.app import create_app  # here: the engine it wires is not needed elsewhere

    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db"))
    paths = app.openapi()["paths"]
    assert {"/v1/reactions", "/v1/stats/reactions", "/v1/prices/{instrument}"} <= set(paths)
    assert (
        "application/problem+json" in paths["/v1/reactions"]["get"]["responses"]["400"]["content"]
    )


async def test_the_openapi_document_has_examples(client: httpx.AsyncClient) -> None:
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    for name in (
        "ReactionPublic",
        "ReactionsPage",
        "AnnouncementDetail",
        "ReactionStats",
        "PriceBars",
        "Problem",
    ):
        assert schemas[name].get("examples"), name
