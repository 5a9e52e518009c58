"""Driving the console in a browser: a server with the admin port, signing in, waiting."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.async_api import Page

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.polling import wait_until
from tests.harness.protos import seconds
from tests.harness.server import Api, Running

SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "images"
"""Where `HOOKSMITH_SCREENSHOTS=1` writes the README's pictures of each page."""


def console_url(server: Running, path: str = "/") -> str:
    return f"http://127.0.0.1:{server.app.admin_port}/console{path}"


async def sign_in(page: Page, server: Running, key: str, path: str = "/webhooks") -> None:
    """Open `path`, get sent to the sign-in form, sign in and land back on `path`."""
    await page.goto(console_url(server, path))
    assert "/console/login" in page.url
    await page.fill("#key", key)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"**/console{path}")


async def screenshot(page: Page, name: str) -> None:
    """A 1280×800 picture of the page for docs/images, only when HOOKSMITH_SCREENSHOTS=1."""
    if os.environ.get("HOOKSMITH_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"console-{name}.png"))


async def create(
    api: Api, name: str, url: str, *, body: str, retries: int = 1, secret_header: str = ""
) -> pb.Webhook:
    headers = [pb.Header(name="Authorization", value=secret_header, secret=True)]
    spec = pb.WebhookSpec(
        name=name,
        url=url,
        body=body,
        headers=headers if secret_header else [],
        policy=pb.DeliveryPolicy(timeout=seconds(5), retry_schedule=[seconds(0.05)] * retries),
    )
    return (await api.Create(pb.CreateRequest(spec=spec))).webhook


async def reload_until(page: Page, selector: str, text: str, *, timeout: float = 30.0) -> None:
    """Reload until the element at `selector` reads `text` (a message's state moves on
    in the background)."""

    async def shows() -> bool:
        await page.reload()
        found = page.locator(selector)
        return await found.count() > 0 and (await found.first.inner_text()).strip() == text

    await wait_until(shows, timeout=timeout, every=0.3)


async def fits_width(page: Page) -> bool:
    """Whether nothing on the page reaches past the window's width."""
    return bool(
        await page.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth"
            " && document.body.scrollWidth <= window.innerWidth"
        )
    )
