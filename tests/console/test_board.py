"""The board and a reaction's detail in a real browser, on one played story: the seed story
goes through the broker; the KOSPI `close` tile forms live, provisional first; its detail page
(the price path drawn by lightweight-charts with the base line, the anchor, each horizon's end
and the peak marked; the revisions; z against its band) follows it until it is final at +1.81%
with its peak at +1.84%, and so does the tile; the filters hide what does not match."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Page, expect

from services.demo.scenario import Scenario, seed_story
from services.settings import Settings
from tests.console.fixtures import screenshot
from tests.console.service import ServiceProcess
from tests.console.story import KOSPI_CLOSE, LETTER_ID, play_story, stream_live

pytestmark = pytest.mark.kafka


async def test_the_kospi_close_reaction_forms_live_on_the_board_and_in_its_detail(
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

    await page.click(KOSPI_CLOSE)
    heading = page.locator(".detail h2")
    await expect(heading).to_contain_text("provisional", timeout=15_000)
    # the detail follows the reaction as it forms: no reload needed
    await play_story(kafka_settings, Scenario([], [], story.live[half:]))
    await expect(heading).to_contain_text("final", timeout=90_000)
    await the_detail_shows_the_path_with_its_marks(page, service.base)

    await page.click(".detail a[href='#/board']")
    await expect(tile.locator('[data-field="return"]')).to_have_text("+1.81%")
    await expect(tile.locator('[data-field="peak"]')).to_have_text("+1.84%")
    await expect(tile).to_have_attribute("data-state", "final")
    # times in the exchange's zone, named, with UTC on hover
    foot = tile.locator(".tile-foot")
    await expect(foot).to_contain_text("KST")
    assert (await foot.get_attribute("title") or "").endswith("UTC")
    # the health strip: each instrument's feed, the consumers' lag, the stream's state
    await expect(page.locator('#health [data-instrument="KOSPI"]')).to_be_visible(timeout=15_000)
    await expect(page.locator("#health .lag")).to_contain_text("consumer lag")
    await screenshot(page, "board")
    await filters_hide_the_tiles_that_do_not_match(page)


async def the_detail_shows_the_path_with_its_marks(page: Page, base: str) -> None:
    heading = page.locator(".detail h2")
    chart = page.locator(".detail .chart")
    await expect(chart.locator("canvas").first).to_be_visible(timeout=15_000)
    await expect(chart).to_have_attribute("data-marks", re.compile("peak"))
    marks = (await chart.get_attribute("data-marks") or "").split(",")
    assert {"base", "anchor", "peak", "end:close", "end:5m"} <= set(marks), marks
    assert int(await chart.get_attribute("data-points") or 0) > 100

    async with httpx.AsyncClient(base_url=base) as http:
        response = await http.get(f"/v1/reactions/{LETTER_ID}/KOSPI/close/revisions")
    revisions = response.json()["revisions"]
    await expect(page.locator(".revisions tbody tr")).to_have_count(len(revisions))
    await expect(heading).to_contain_text("+1.81%")
    await expect(heading).to_contain_text("peak +1.84%")
    z = revisions[-1]["z_score"]
    await expect(page.locator(".zband")).to_have_attribute("data-z", str(z))
    await screenshot(page, "detail")


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
