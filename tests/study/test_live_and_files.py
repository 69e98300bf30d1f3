"""The same story through Kafka (ingest → engine → store → /v1/studies) and through files
(`market-reaction study`) gives identical studies."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry

from services.app import create_app
from services.cli import main
from services.demo.player import play
from services.demo.scenario import Scenario
from services.settings import Settings
from services.study.sample import study_sample, write_sample
from tests.helpers import eventually, live_server, metric

pytestmark = pytest.mark.kafka

SAMPLE = study_sample(seed=5, sessions=240, events=10)
STUDIES = [
    {"instrument": "KOSPI", "model": "mean"},
    {"instrument": "005380.KS", "model": "market_model", "window": "-1,3"},
    {"instrument": "005380.KS", "model": "market", "exclude_confounded": "true"},
]


def _cli_args(query: dict[str, str], anns: Path, prices: Path, out: Path) -> list[str]:
    args = ["study", "--announcements", str(anns), "--prices", str(prices), "--out", str(out)]
    args += ["--instrument", query["instrument"], "--model", query["model"]]
    if "window" in query:
        args.append(f"--window={query['window']}")
    if query.get("exclude_confounded") == "true":
        args.append("--exclude-confounded")
    return args


async def test_studies_from_kafka_and_from_files_agree(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    anns, prices = write_sample(tmp_path / "files", SAMPLE)
    from_files = []
    for i, query in enumerate(STUDIES):
        out = tmp_path / f"study-{i}.json"
        assert main(_cli_args(query, anns, prices, out)) == 0
        from_files.append(json.loads(out.read_text()))
    assert from_files[0]["n"] >= 8  # the story has enough history for most events
    assert from_files[1]["events"][0]["beta"] is not None

    s = kafka_settings
    app = create_app(s, registry=CollectorRegistry())
    async with live_server(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        await play(Scenario(SAMPLE.announcements, SAMPLE.prices, []), s, speedup=0, progress=False)

        async def all_consumed() -> bool:
            got_prices = await metric(http, "mr_events_consumed_total", topic=s.prices_topic)
            got_anns = await metric(http, "mr_events_consumed_total", topic=s.announcements_topic)
            return got_prices == len(SAMPLE.prices) and got_anns == len(SAMPLE.announcements)

        await eventually(all_consumed, timeout_s=120, what="the story consumed")

        async def studies() -> list[object]:
            return [(await http.get("/v1/studies", params=q)).json() for q in STUDIES]

        async def stored() -> bool:
            # the last batch's store transaction may commit just after it is counted
            return await studies() == from_files

        await eventually(stored, timeout_s=30, what="the studies from the store")
        for query, got, expected in zip(STUDIES, await studies(), from_files, strict=True):
            assert got == expected, query
