"""One headless Chromium (Debian's `chromium`, driven by Playwright) per test module."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright

CHROMIUM = os.environ.get("HOOKSMITH_TEST_CHROMIUM", "/usr/bin/chromium")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not shutil.which(CHROMIUM):
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install Debian's (`apt-get install chromium`, as "
            ".ci/run does) or point HOOKSMITH_TEST_CHROMIUM at one"
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            await launched.close()
