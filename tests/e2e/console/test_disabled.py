"""The console's webhooks page shows a disabled webhook and why."""

from __future__ import annotations

import uuid

from playwright.async_api import Browser, expect

from tests.e2e.console.pages import create, sign_in
from tests.harness.server import StartServer
from tests.integration.secrets.raw import execute

REASON = (
    "every attempt failed since 2026-03-01T00:00:00+00:00 (disable_after 1h); last error: HTTP 500"
)


async def test_a_disabled_webhook_shows_its_state_and_reason(
    start_server: StartServer, browser: Browser
) -> None:
    server = await start_server(admin_listen="127.0.0.1:0")
    api = await server.api()
    webhook = await create(api, "Push provider", "https://push.example.com/", body="{}")
    await execute(
        server.database_url,
        "UPDATE webhooks SET state = 'DISABLED', state_reason = $2 WHERE id = $1",
        uuid.UUID(webhook.id),
        REASON,
    )
    page = await (await browser.new_context()).new_page()
    await sign_in(page, server, api.key)
    card = page.locator("article.webhook", has_text="Push provider")
    await expect(card.locator(".badge.state-disabled")).to_have_text("disabled")
    await expect(card.locator("p.error")).to_have_text(
        f"Disabled: {REASON}; an update enables it again."
    )
