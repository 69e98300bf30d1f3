"""A reaction's detail page: the price path from /v1/prices drawn by lightweight-charts with
the base line, the anchor, each horizon's end and the peak marked; its revisions; its z."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Page, expect

from services.scenario import Scenario, seed_story
from services.settings import Settings
from tests.console.fixtures import screenshot
from tests.console.service import ServiceProcess
from tests.console.story import KOSPI_CLOSE, LETTER_ID, play_story

pytestmark = pytest.mark.kafka


async def test_the_detail_chart_renders_with_its_marks(
    kafka_settings: Settings, service: ServiceProcess, page: Page
) -> None:
    story = seed_story()
    first_day = story.live[0].ts.date()
    half = len([p for p in story.live if p.ts.date() == first_day]) // 2
    await page.goto(service.base)
    await play_story(
        kafka_settings, Scenario(story.announcements, story.history, story.live[:half])
    )
    await expect(page.locator(KOSPI_CLOSE)).to_have_attribute(
        "data-state", "provisional", timeout=60_000
    )
    await page.click(KOSPI_CLOSE)
    heading = page.locator(".detail h2")
    await expect(heading).to_contain_text("provisional", timeout=15_000)
    # the detail follows the reaction as it forms: no reload needed
    await play_story(kafka_settings, Scenario([], [], story.live[half:]))
    await expect(heading).to_contain_text("final", timeout=90_000)

    chart = page.locator(".detail .chart")
    await expect(chart.locator("canvas").first).to_be_visible(timeout=15_000)
    await expect(chart).to_have_attribute("data-marks", re.compile("peak"))
    marks = (await chart.get_attribute("data-marks") or "").split(",")
    assert {"base", "anchor", "peak", "end:close", "end:5m"} <= set(marks), marks
    assert int(await chart.get_attribute("data-points") or 0) > 100

    async with httpx.AsyncClient(base_url=service.base) as http:
        response = await http.get(f"/v1/reactions/{LETTER_ID}/KOSPI/close/revisions")
    revisions = response.json()["revisions"]
    await expect(page.locator(".revisions tbody tr")).to_have_count(len(revisions))
    await expect(heading).to_contain_text("+1.81%")
    await expect(heading).to_contain_text("peak +1.84%")
    z = revisions[-1]["z_score"]
    await expect(page.locator(".zband")).to_have_attribute("data-z", str(z))
    await screenshot(page, "detail")
