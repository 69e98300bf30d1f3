"""POST /v1/announcements on a real uvicorn, real broker and store: keys, idempotence, limits,
and nothing on the topic for a rejected request."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from services.api.auth import key_digest
from services.app import create_app
from services.settings import Settings
from services.store import open_store
from services.store.intake import IntakeStore
from tests.helpers import kcat_consume, live_server

pytestmark = pytest.mark.kafka

READ_KEY = "desk-read-51c2"
WRITE_KEY = "desk-write-9e07"
KOREA: dict[str, Any] = {
    "id": "desk-2025-07-07-kr",
    "published_at": "2025-07-07T16:04:00Z",
    "source": "desk",
    "targets": ["KR"],
    "sectors": ["all"],
    "action": "impose",
    "tariff_rate_pct": 25,
    "effective_at": "2025-08-01",
    "headline": "US letter: 25% tariff on all Korean goods from 1 August",
}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def writable(kafka_settings: Settings) -> Settings:
    return kafka_settings.model_copy(
        update={
            "api_keys_sha256": [key_digest(READ_KEY)],
            "api_write_keys_sha256": [key_digest(WRITE_KEY)],
        }
    )


def topic_values(settings: Settings) -> list[dict[str, Any]]:
    records = kcat_consume(settings.kafka_bootstrap, settings.announcements_topic)
    return [json.loads(r["value"]) for r in records]


async def test_a_write_key_enters_an_announcement_once(writable: Settings) -> None:
    app = create_app(writable, role="api", registry=CollectorRegistry())
    async with live_server(app) as base, httpx.AsyncClient(base_url=base) as http:
        missing = await http.post("/v1/announcements", json=KOREA)
        unknown = await http.post("/v1/announcements", json=KOREA, headers=bearer("nope"))
        read_only = await http.post("/v1/announcements", json=KOREA, headers=bearer(READ_KEY))
        accepted = await http.post("/v1/announcements", json=KOREA, headers=bearer(WRITE_KEY))
        repeat = await http.post("/v1/announcements", json=KOREA, headers=bearer(WRITE_KEY))
        conflict = await http.post(
            "/v1/announcements",
            json={**KOREA, "tariff_rate_pct": 30},
            headers=bearer(WRITE_KEY),
        )
        invalid = await http.post(
            "/v1/announcements", json={**KOREA, "id": "x", "targets": []}, headers=bearer(WRITE_KEY)
        )
        too_large = await http.post(
            "/v1/announcements",
            json={**KOREA, "id": "big", "headline": "x" * 70_000},
            headers=bearer(WRITE_KEY),
        )
        write_key_reads = await http.get("/v1/reactions", headers=bearer(WRITE_KEY))

    assert missing.status_code == unknown.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert read_only.status_code == 403
    assert read_only.json()["detail"] == "the API key may read but not write"
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    assert (
        accepted.headers["location"] == body["location"] == "/v1/announcements/desk-2025-07-07-kr"
    )
    assert body["stream"] == "/v1/signals/stream?target=KR"
    assert body["announcement"]["tariff_rate_pct"] == 25
    assert repeat.status_code == 200
    assert repeat.json()["announcement"] == body["announcement"]
    assert conflict.status_code == 409
    assert "supersedes" in conflict.json()["detail"]
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["loc"] == ["body", "targets"]
    assert too_large.status_code == 413
    assert too_large.headers["content-type"] == "application/problem+json"
    assert write_key_reads.status_code == 200
    # only the accepted request reached Kafka, keyed by its id
    values = topic_values(writable)
    assert [v["id"] for v in values] == [KOREA["id"]]
    assert values[0]["tariff_rate_pct"] == 25


async def test_writes_are_disabled_without_a_write_key(kafka_settings: Settings) -> None:
    app = create_app(kafka_settings, role="api", registry=CollectorRegistry())
    async with live_server(app) as base, httpx.AsyncClient(base_url=base) as http:
        refused = await http.post("/v1/announcements", json=KOREA, headers=bearer(WRITE_KEY))
    assert refused.status_code == 403
    assert refused.json()["detail"] == "writes are disabled: no write key is configured"
    assert topic_values(kafka_settings) == []


async def test_unrouted_items_are_listed_until_a_person_enters_them(writable: Settings) -> None:
    def draft(id: str) -> dict[str, Any]:
        return {"id": id, "headline": "Ambassador meets ministers on tariff talks", "targets": []}

    async with await open_store(writable.database_url) as store:
        intake = IntakeStore(store.engine)
        seen = datetime(2025, 7, 31, 15, tzinfo=UTC)
        await intake.keep_unrouted(
            "ustr", "u-2", seen - timedelta(hours=1), draft("ustr-2"), now=seen
        )
        await intake.keep_unrouted(
            "ustr", "u-1", seen - timedelta(hours=2), draft("ustr-1"), now=seen
        )
    completed = {
        **draft("ustr-1"),
        "targets": ["KR"],
        "published_at": "2025-07-31T13:00:00Z",
        "source": "ustr",
    }
    app = create_app(writable, role="api", registry=CollectorRegistry())
    async with live_server(app) as base, httpx.AsyncClient(base_url=base) as http:
        before = await http.get(
            "/v1/intake", params={"status": "unrouted"}, headers=bearer(READ_KEY)
        )
        entered = await http.post("/v1/announcements", json=completed, headers=bearer(WRITE_KEY))
        after = await http.get("/v1/intake", headers=bearer(READ_KEY))
        done = await http.get(
            "/v1/intake", params={"status": "completed"}, headers=bearer(READ_KEY)
        )
        wrong = await http.get("/v1/intake", params={"status": "done"}, headers=bearer(READ_KEY))
        anonymous = await http.get("/v1/intake")

    assert before.status_code == 200
    items = before.json()["items"]
    assert [(i["source"], i["item_id"]) for i in items] == [("ustr", "u-1"), ("ustr", "u-2")]
    assert items[0]["draft"] == draft("ustr-1")
    assert items[0]["published_at"] == "2025-07-31T13:00:00Z"
    assert entered.status_code == 202
    assert [i["item_id"] for i in after.json()["items"]] == ["u-2"]
    assert [i["item_id"] for i in done.json()["items"]] == ["u-1"]
    assert wrong.status_code == 422
    assert wrong.headers["content-type"] == "application/problem+json"
    assert anonymous.status_code == 401  # read keys guard it like the rest of /v1
