"""The live board in a real browser: the seed story plays through the broker and the KOSPI
`close` tile forms live, provisional first, then final at +1.81% with its peak at +1.84%."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from services.scenario import Scenario, seed_story
from services.settings import Settings
from services.simulate import play
from tests.console.fixtures import screenshot
from tests.console.service import ServiceProcess

pytestmark = pytest.mark.kafka

KOSPI_CLOSE = '.tile[data-key="us-kr-2025-07-07-letter|KOSPI|close"]'


async def test_the_kospi_close_tile_forms_live_then_turns_final(
    kafka_settings: Settings, service: ServiceProcess, page: Page
) -> None:
    story = seed_story()
    await page.goto(service.base)
    await expect(page.locator("#health [data-stream]")).to_have_attribute(
        "data-stream", "live", timeout=30_000
    )
    # the letter and the first part of its session: the window is open
    first_session = [p for p in story.live if p.ts.date() == story.live[0].ts.date()]
    await play(
        Scenario(story.announcements, story.history, first_session[: len(first_session) // 2]),
        kafka_settings,
        speedup=0,
        progress=False,
    )
    tile = page.locator(KOSPI_CLOSE)
    await expect(tile).to_have_attribute("data-state", "provisional", timeout=60_000)
    await expect(page.locator(".announcement h2")).to_have_text(story.announcements[0].headline)
    await screenshot(page, "board-provisional")

    await play(
        Scenario([], [], story.live[len(first_session) // 2 :]),
        kafka_settings,
        speedup=0,
        progress=False,
    )
    await expect(tile).to_have_attribute("data-state", "final", timeout=90_000)
    await expect(tile.locator('[data-field="return"]')).to_have_text("+1.81%")
    await expect(tile.locator('[data-field="peak"]')).to_have_text("+1.84%")
    # times in the exchange's zone, named, with UTC on hover
    foot = tile.locator(".tile-foot")
    await expect(foot).to_contain_text("KST")
    assert (await foot.get_attribute("title") or "").endswith("UTC")
    await screenshot(page, "board")
