"""The studies view over GET /v1/studies (issue 12): the CAAR path with its band, the per-event
table and the CSV download."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from services.settings import Settings
from tests.console.fixtures import screenshot
from tests.console.service import ServiceProcess
from tests.console.story import LETTER_ID, play_story, until_final

pytestmark = pytest.mark.kafka


async def test_a_study_shows_its_path_table_and_csv(
    kafka_settings: Settings, service: ServiceProcess, page: Page
) -> None:
    await page.goto(service.base)
    await play_story(kafka_settings)
    await until_final(page)

    await page.click('.tabs a[data-view="studies"]')
    await page.select_option('.study-form [name="instrument"]', "KOSPI")
    await page.fill('.study-form [name="window"]', "0,5")
    await page.click(".study-form button[type=submit]")
    await expect(page.locator(".study .events tbody tr")).to_have_count(1, timeout=30_000)
    await expect(page.locator(".study .events tbody tr td").first).to_have_text(LETTER_ID)
    chart = page.locator(".study-chart")
    await expect(chart.locator("canvas").first).to_be_visible()
    assert int(await chart.get_attribute("data-points") or 0) == 6  # τ = 0 … 5
    await screenshot(page, "studies")

    async with page.expect_download() as download_info:
        await page.click(".study .csv")
    download = await download_info.value
    assert download.suggested_filename == "study-KOSPI.csv"
    text = (await download.path()).read_text()
    assert LETTER_ID in text
