"""A real browser (Debian's Chromium, driven by Playwright) on the real service fed through the
real broker. Screenshots go to `.artifacts/console/` (git-ignored) for people to look at."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright

from services.settings import Settings
from tests.console.chromium import CHROMIUM, launch
from tests.console.service import ServiceProcess

ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts" / "console"


@pytest.fixture
async def service(kafka_settings: Settings, tmp_path: Path) -> AsyncIterator[ServiceProcess]:
    process = ServiceProcess(kafka_settings, tmp_path / "service.log")
    await process.start()
    yield process
    process.stop()


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[Page]:
    """A fresh profile per test; any uncaught script error in the page fails the test."""
    _require_chromium()
    errors: list[str] = []
    async with async_playwright() as playwright:
        context = await launch(playwright, tmp_path / "profile")
        page = context.pages[0] if context.pages else await context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            yield page
        finally:
            await context.close()
    assert not errors, f"script errors in the page: {errors}"


def _require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make install` installs Debian's chromium")


async def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
