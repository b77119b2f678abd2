"""A real browser for the portal's tests: Playwright driving Debian's Chromium, headless,
at a phone's size. Playwright cannot download its own browser here; `.ci/run` installs
Debian's `chromium`, and sets RAPPORT_REQUIRE_BROWSER=1 so a missing browser fails CI
instead of skipping the tests."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

PHONE: Any = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 1,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
}
SHOTS = Path(os.environ.get("RAPPORT_SCREENSHOTS") or tempfile.mkdtemp(prefix="portal-shots-"))


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest_asyncio.fixture(scope="module")
async def browser() -> AsyncIterator[object]:
    path = chromium_path()
    if path is None:
        message = (
            "NO BROWSER: the portal's browser tests did not run. Install Debian's "
            "chromium (apt-get install -y chromium)."
        )
        if os.environ.get("RAPPORT_REQUIRE_BROWSER"):
            pytest.fail(message)
        print(f"\n{'!' * 80}\n{message}\n{'!' * 80}")
        pytest.skip(message)
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=path, headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            await launched.close()


async def shot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]
