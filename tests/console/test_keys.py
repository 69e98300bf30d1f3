"""Keys: entered once, kept in the tab's session storage, sent only in the Authorization header;
a wrong key gets a clear message, never a blank page."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, Request, expect

from services.api.auth import key_digest
from services.settings import Settings
from tests.console.fixtures import screenshot
from tests.console.service import ServiceProcess
from tests.console.story import play_story, stream_live, until_final

pytestmark = pytest.mark.kafka

KEY = "desk-read-key-7f3a"


async def test_a_wrong_key_is_refused_clearly_and_the_right_one_opens_the_board(
    kafka_settings: Settings, page: Page, tmp_path: Path
) -> None:
    settings = kafka_settings.model_copy(update={"api_keys_sha256": [key_digest(KEY)]})
    service = ServiceProcess(settings, tmp_path / "service.log")
    await service.start()
    try:
        requests: list[Request] = []
        page.on("request", lambda request: requests.append(request))
        await page.goto(service.base)
        notice = page.locator("#notice")
        await expect(notice).to_contain_text("an API key is required")

        await page.fill("#read-key", "not-the-key")
        await page.click("#keys button")
        await expect(notice).to_contain_text("The key was refused")
        await expect(notice).to_contain_text("the API key is not valid")
        await screenshot(page, "wrong-key")

        await page.fill("#read-key", KEY)
        await page.click("#keys button")
        await stream_live(page)
        await expect(notice).to_be_hidden()
        await play_story(settings)
        await until_final(page)
        # kept for the tab: a reload needs no new entry
        await page.reload()
        await until_final(page)
        assert await page.evaluate("sessionStorage.getItem('mr.readKey')") == KEY

        for request in requests:
            assert KEY not in request.url, request.url
        authorized = [r for r in requests if "/v1/" in r.url]
        assert authorized, "the board made no API request"
        sent = [await r.header_value("authorization") for r in authorized]
        assert f"Bearer {KEY}" in sent
        assert any("/v1/signals/stream" in r.url for r in authorized)
    finally:
        service.stop()
