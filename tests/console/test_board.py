"""The live board in a real browser: the seed story plays through the broker and the KOSPI
`close` tile forms live, provisional first, then final at +1.81% with its peak at +1.84%."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from services.scenario import Scenario, seed_story
from services.settings import Settings
from tests.console.fixtures import screenshot
from tests.console.service import ServiceProcess
from tests.console.story import KOSPI_CLOSE, play_story, stream_live, until_final

pytestmark = pytest.mark.kafka


async def test_the_kospi_close_tile_forms_live_then_turns_final(
    kafka_settings: Settings, service: ServiceProcess, page: Page
) -> None:
    story = seed_story()
    await page.goto(service.base)
    await stream_live(page)
    # the letter and the first part of its session: the window is open
    first_day = story.live[0].ts.date()
    half = len([p for p in story.live if p.ts.date() == first_day]) // 2
    opening = Scenario(story.announcements, story.history, story.live[:half])
    await play_story(kafka_settings, opening)
    tile = page.locator(KOSPI_CLOSE)
    await expect(tile).to_have_attribute("data-state", "provisional", timeout=60_000)
    await expect(page.locator(".announcement h2")).to_have_text(story.announcements[0].headline)
    await screenshot(page, "board-provisional")

    await play_story(kafka_settings, Scenario([], [], story.live[half:]))
    await until_final(page)
    await expect(tile.locator('[data-field="return"]')).to_have_text("+1.81%")
    await expect(tile.locator('[data-field="peak"]')).to_have_text("+1.84%")
    # times in the exchange's zone, named, with UTC on hover
    foot = tile.locator(".tile-foot")
    await expect(foot).to_contain_text("KST")
    assert (await foot.get_attribute("title") or "").endswith("UTC")
    # the health strip: each instrument's feed, the consumers' lag, the stream's state
    await expect(page.locator('#health [data-instrument="KOSPI"]')).to_be_visible(timeout=15_000)
    await expect(page.locator("#health .lag")).to_contain_text("consumer lag")
    await screenshot(page, "board")
    await filters_hide_the_tiles_that_do_not_match(page)


async def filters_hide_the_tiles_that_do_not_match(page: Page) -> None:
    tiles = page.locator(".tile:visible")
    everything = await tiles.count()
    assert everything > 1
    await page.fill('.filters input[name="instrument"]', "kospi")
    await page.select_option('.filters select[name="horizon"]', "close")
    await expect(tiles).to_have_count(1)
    await expect(tiles).to_have_attribute("data-key", "us-kr-2025-07-07-letter|KOSPI|close")
    await page.fill('.filters input[name="instrument"]', "")
    await page.select_option('.filters select[name="horizon"]', "")
    await expect(tiles).to_have_count(everything)
    await page.check('.filters input[name="significant"]')
    significant = await page.locator(".tile.significant").count()
    assert 0 < significant < everything
    await expect(tiles).to_have_count(significant)
    await page.fill('.filters input[name="min_abs_z"]', "100")
    await expect(tiles).to_have_count(0)
    await expect(page.locator(".announcement:visible")).to_have_count(0)
