"""From public sources to reactions, through the real broker, engine and store: one story from
three sources gets one set of reactions, the echoes are stored with their story, and a restart
of the sources role produces nothing twice."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry

from services.app import create_app
from services.demo.player import play
from services.demo.scenario import Scenario, seed_story
from services.settings import Settings
from services.sources.runner import create_sources_app, running_sources
from tests.helpers import eventually, live_server
from tests.sources.feed_server import Answer, feed_server, fixture
from tests.sources.harness import produced

pytestmark = pytest.mark.kafka

FEEDS = {
    "white_house": ("/wh.rss", "story_white_house.rss"),
    "wire": ("/wire.atom", "story_wire.atom"),
    "tv": ("/tv.rss", "story_tv.rss"),
}


def sources_file(base: str, folder: Path) -> Path:
    path = folder / "sources.toml"
    path.write_text(
        "".join(
            f'[[source]]\nname = "{name}"\nkind = "feed"\nurl = "{base}{feed_path}"\n'
            "interval_s = 0.2\n\n"
            for name, (feed_path, _) in FEEDS.items()
        )
    )
    return path


async def test_three_sources_one_story_one_set_of_reactions(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    scenario = seed_story(seed=5)
    with feed_server() as (server, base):
        for feed_path, name in FEEDS.values():
            server.script(feed_path, fixture(name))
        settings = kafka_settings.model_copy(update={"sources_file": sources_file(base, tmp_path)})
        app = create_app(settings, registry=CollectorRegistry())
        async with live_server(app) as api, httpx.AsyncClient(base_url=api) as http:

            async def stored(count: int) -> bool:
                page = (await http.get("/v1/announcements")).json()
                return len(page["items"]) == count

            async with running_sources(settings, CollectorRegistry()):
                await eventually(lambda: stored(3), what="three announcements stored")
            polls = len(server.requests)
            async with running_sources(settings, CollectorRegistry()):  # a restart

                async def polled_again() -> bool:
                    return len(server.requests) >= polls + 2 * len(FEEDS)

                await eventually(polled_again, what="every source polled after the restart")

            await play(
                Scenario([], scenario.history, scenario.live), settings, speedup=0, progress=False
            )

            async def kospi_close_final() -> bool:
                page = await http.get(
                    "/v1/reactions", params={"instrument": "KOSPI", "horizon": "close"}
                )
                return any(r["final"] for r in page.json()["items"])

            await eventually(kospi_close_final, timeout_s=120, what="KOSPI's close reaction")
            reactions = (await http.get("/v1/reactions", params={"limit": 1000})).json()["items"]
            announcements = (await http.get("/v1/announcements")).json()["items"]
            novel_id = next(a["id"] for a in announcements if a["source"] == "white_house")
            story = (await http.get(f"/v1/stories/{novel_id}")).json()
            echo_id = next(a["id"] for a in announcements if a["source"] == "wire")
            not_a_story = await http.get(f"/v1/stories/{echo_id}")

    on_topic = produced(settings)
    assert len(on_topic) == 3  # one per source item, none again after the restart
    by_source = {a["source"]: a for a in announcements}
    novel = by_source["white_house"]
    assert novel["story_id"] == novel["id"]
    assert novel["first_seen_at"] == "2025-07-07T16:04:00Z"
    for echo in (by_source["wire"], by_source["tv"]):
        assert echo["story_id"] == novel["id"]
        assert echo["first_seen_at"] == "2025-07-07T16:04:00Z"
    assert {r["announcement_id"] for r in reactions} == {novel["id"]}
    assert story["novel"]["id"] == novel["id"]
    assert [e["source"] for e in story["echoes"]] == ["wire", "tv"]
    assert {r["announcement_id"] for r in story["reactions"]} == {novel["id"]}
    assert len(story["reactions"]) == len(reactions)
    assert not_a_story.status_code == 404
    kospi_close = next(
        r for r in reactions if r["instrument"] == "KOSPI" and r["horizon"] == "close"
    )
    assert kospi_close["anchor_at"] == "2025-07-08T00:00:00Z"  # the first publication's


async def test_a_key_in_a_source_url_never_reaches_the_log(
    kafka_settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with feed_server() as (server, base):
        server.script("/feed?api_key=SECRET-7731", Answer(503))
        path = tmp_path / "sources.toml"
        path.write_text(
            f'[[source]]\nname = "keyed"\nkind = "feed"\nurl = "{base}/feed?api_key=SECRET-7731"\n'
            "interval_s = 0.05\nbackoff_base_s = 0.05\nbackoff_cap_s = 0.1\n"
        )
        settings = kafka_settings.model_copy(update={"sources_file": path})
        caplog.set_level(logging.DEBUG)
        async with running_sources(settings, CollectorRegistry()):
            await eventually(lambda: len(server.requests) >= 2, what="two failed polls")
    assert "source keyed: HTTP 503" in caplog.text
    assert "SECRET" not in caplog.text


async def test_the_sources_role_serves_health_and_metrics(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    with feed_server() as (server, base):
        server.script("/wh.rss", fixture("story_white_house.rss"))
        path = tmp_path / "sources.toml"
        path.write_text(f'[[source]]\nname = "white_house"\nkind = "feed"\nurl = "{base}/wh.rss"\n')
        settings = kafka_settings.model_copy(update={"sources_file": path})
        app = create_sources_app(settings, CollectorRegistry())
        async with live_server(app) as url, httpx.AsyncClient(base_url=url) as http:

            async def produced_one() -> bool:
                metrics = (await http.get("/metrics")).text
                return 'mr_source_items_produced_total{source="white_house"} 1.0' in metrics

            await eventually(produced_one, what="the item produced")
            ready = await http.get("/readyz")
            metrics = (await http.get("/metrics")).text
    assert ready.status_code == 200
    assert 'mr_source_lag_seconds_count{source="white_house"} 1.0' in metrics
    assert [a["source"] for a in produced(settings)] == ["white_house"]
