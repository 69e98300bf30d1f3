"""The seed story, played through the broker for the browser tests."""

from __future__ import annotations

from playwright.async_api import Page, expect

from services.demo.player import play
from services.demo.scenario import Scenario, seed_story
from services.settings import Settings

LETTER_ID = "us-kr-2025-07-07-letter"
KOSPI_CLOSE = f'.tile[data-key="{LETTER_ID}|KOSPI|close"]'


async def play_story(settings: Settings, scenario: Scenario | None = None) -> None:
    await play(scenario or seed_story(), settings, speedup=0, progress=False)


async def until_final(page: Page, selector: str = KOSPI_CLOSE) -> None:
    await expect(page.locator(selector)).to_have_attribute("data-state", "final", timeout=90_000)


async def stream_live(page: Page) -> None:
    await expect(page.locator("#health [data-stream]")).to_have_attribute(
        "data-stream", "live", timeout=30_000
    )
