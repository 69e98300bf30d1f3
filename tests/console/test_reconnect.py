"""Killing and restarting the service: the board shows it is disconnected, reconnects by itself,
resumes after its last cursor and misses no revision (compared with the service's own)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from services.demo.scenario import Scenario, seed_story
from services.settings import Settings
from tests.console.fixtures import screenshot
from tests.console.service import ServiceProcess
from tests.console.story import KOSPI_CLOSE, play_story, stream_live, until_final
from tests.helpers import eventually
from tests.reactions import replayed

pytestmark = pytest.mark.kafka

RECORD_SEEN = """() => {
  window.seen = [];
  const board = window.mrConsole.board;
  const accept = board.accept.bind(board);
  board.accept = (signal) => { window.seen.push(signal.signal_id); accept(signal); };
}"""


async def every_revision(base: str) -> tuple[set[str], dict[str, str]]:
    """Every stored revision's id, and the latest revision's id of each reaction."""
    revisions: set[str] = set()
    latest: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        cursor = None
        while True:
            params = {"limit": "1000", **({"cursor": cursor} if cursor else {})}
            page = (await http.get("/v1/reactions", params=params)).json()
            for r in page["items"]:
                key = f"{r['announcement_id']}|{r['instrument']}|{r['horizon']}"
                latest[key] = r["signal_id"]
                history = await http.get(
                    f"/v1/reactions/{r['announcement_id']}/{r['instrument']}/{r['horizon']}/revisions"
                )
                revisions |= {v["signal_id"] for v in history.json()["revisions"]}
            cursor = page["next_cursor"]
            if cursor is None:
                return revisions, latest


async def test_the_board_reconnects_after_a_restart_and_misses_no_revision(
    kafka_settings: Settings, service: ServiceProcess, page: Page, tmp_path: Path
) -> None:
    story = seed_story()
    expected = replayed(story, tmp_path)
    half = len(story.live) // 2
    await page.goto(service.base)
    await stream_live(page)
    await page.evaluate(RECORD_SEEN)
    await play_story(
        kafka_settings, Scenario(story.announcements, story.history, story.live[:half])
    )
    await expect(page.locator(KOSPI_CLOSE)).to_have_attribute("data-state", "final", timeout=90_000)

    service.kill()
    await expect(page.locator("#health [data-stream]")).to_have_attribute(
        "data-stream", "disconnected", timeout=15_000
    )
    await expect(page.locator("#notice")).to_contain_text("Disconnected")
    await screenshot(page, "disconnected")
    # the rest of the story lands in Kafka while the service is down, and the restarted service
    # computes it before the board can reconnect: only the resume can bring it those revisions
    await page.route("**/v1/signals/stream*", lambda route: route.abort())
    await play_story(kafka_settings, Scenario([], [], story.live[half:]))
    await service.start()

    async def all_final() -> bool:
        async with httpx.AsyncClient(base_url=service.base) as http:
            page = (await http.get("/v1/reactions", params={"limit": "1000"})).json()
        return len(page["items"]) == len(expected) and all(r["final"] for r in page["items"])

    await eventually(all_final, timeout_s=120, what="the rest of the story computed")
    await page.unroute("**/v1/signals/stream*")
    await stream_live(page)
    await expect(page.locator("#notice")).to_be_hidden()

    async def board_has_everything() -> bool:
        stored, latest = await every_revision(service.base)
        seen = set(await page.evaluate("window.seen"))
        shown = await page.evaluate(
            "Object.fromEntries(window.mrConsole.board.latest().map("
            "r => [`${r.announcement_id}|${r.instrument}|${r.horizon}`, r.signal_id]))"
        )
        return bool(stored) and stored <= seen and shown == latest

    await eventually(board_has_everything, timeout_s=120, what="every stored revision on the board")
    seen = await page.evaluate("window.seen")
    assert len(seen) == len(set(seen)), "a revision came twice"
    await until_final(page)
