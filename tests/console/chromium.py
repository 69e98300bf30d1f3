"""Debian's Chromium under Playwright, headless, as the console tests and its benchmark open it."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import BrowserContext, Playwright, ViewportSize

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's package (`make install` adds it): no browser is downloaded."""
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1440, "height": 900}


async def launch(playwright: Playwright, profile: Path) -> BrowserContext:
    """A browser with its own profile folder, at a desk's screen size."""
    return await playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport=VIEWPORT,
    )
