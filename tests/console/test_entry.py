"""Entering an announcement in the form (POST /v1/announcements, issue 13): its tiles appear on
the board live; a bad field's error shows next to that field; a repeated id is a conflict."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from services.api.auth import key_digest
from services.settings import Settings
from tests.console.fixtures import screenshot
from tests.console.service import ServiceProcess
from tests.console.story import play_story, until_final

pytestmark = pytest.mark.kafka

NEW_ID = "us-kr-2025-07-09-autos"
WRITE_KEY = "desk-write-key-51c9"


async def fill(page: Page, **fields: str) -> None:
    for name, value in fields.items():
        await page.fill(f'.entry [name="{name}"]', value)


@pytest.fixture
async def service(kafka_settings: Settings, tmp_path: Path) -> AsyncIterator[ServiceProcess]:
    """Writes need a write-scoped key (issue 13): the service knows one, the desk enters it."""
    settings = kafka_settings.model_copy(update={"api_write_keys_sha256": [key_digest(WRITE_KEY)]})
    process = ServiceProcess(settings, tmp_path / "service.log")
    await process.start()
    yield process
    process.stop()


async def test_an_entered_announcement_gets_its_tiles_live(
    kafka_settings: Settings, service: ServiceProcess, page: Page
) -> None:
    await page.goto(service.base)
    await page.fill("#write-key", WRITE_KEY)
    await page.click("#keys button")
    await play_story(kafka_settings)
    await until_final(page)

    await page.click('.tabs a[data-view="enter"]')
    # a bad field first: its error shows next to it, nothing is sent on
    await fill(page, id=NEW_ID, published_at="2025-07-09T01:30:00Z", headline="x", targets="")
    await page.click(".entry button[type=submit]")
    await expect(page.locator('.entry [data-for="targets"]')).not_to_be_empty()
    await screenshot(page, "entry-error")

    await fill(
        page,
        targets="KR",
        sectors="autos",
        tariff_rate_pct="25",
        previous_rate_pct="15",
        headline="US raises the tariff on Korean cars to 25%",
        source="white_house",
    )
    await page.select_option('.entry [name="action"]', "raise")
    await page.click(".entry button[type=submit]")
    await expect(page.locator(".form-status.ok")).to_contain_text(NEW_ID)
    await screenshot(page, "entry")

    await page.click('.tabs a[data-view="board"]')
    card = page.locator(f'.announcement[data-id="{NEW_ID}"]')
    await expect(card.locator(f'.tile[data-key="{NEW_ID}|KOSPI|5m"]')).to_be_visible(timeout=60_000)

    # the same id again: a conflict, shown at the id
    await page.click('.tabs a[data-view="enter"]')
    await fill(page, id=NEW_ID, published_at="2025-07-09T01:30:00Z", headline="again", targets="KR")
    await page.click(".entry button[type=submit]")
    await expect(page.locator('.entry [data-for="id"]')).not_to_be_empty()
