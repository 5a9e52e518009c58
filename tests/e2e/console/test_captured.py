"""The console's message page shows the values a webhook captured from its response."""

from __future__ import annotations

import json

from aiohttp import web
from playwright.async_api import Browser, expect

from hooksmith.v1 import webhooks_pb2 as pb
from tests.e2e.console.pages import console_url, sign_in
from tests.harness.protos import recipients, struct
from tests.harness.receiver import Received, StartReceiver
from tests.harness.server import StartServer


async def test_the_message_page_shows_captured_values(
    start_server: StartServer, start_receiver: StartReceiver, browser: Browser
) -> None:
    server = await start_server(admin_listen="127.0.0.1:0")
    api = await server.api()

    def coupon(_: Received, __: int) -> web.StreamResponse:
        return web.Response(
            text=json.dumps({"code": "<b>C-42</b>"}), content_type="application/json"
        )

    receiver = await start_receiver(coupon)
    spec = pb.WebhookSpec(
        name="coupons",
        url=receiver.url(),
        body="{}",
        capture=[pb.Capture(name="coupon_code", pointer="/code")],
    )
    webhook = (await api.Create(pb.CreateRequest(spec=spec))).webhook
    sent = await api.SendTest(
        pb.SendTestRequest(webhook_id=webhook.id, recipients=recipients(1), data=struct())
    )
    message_id = sent.messages[0].id

    page = await browser.new_page()
    try:
        await sign_in(page, server, api.key, f"/messages/{message_id}")
        await page.goto(console_url(server, f"/messages/{message_id}"))
        # Shown as text, escaped like every value a receiver sent.
        await expect(page.locator("dd.captured")).to_have_text("coupon_code=<b>C-42</b>")
    finally:
        await page.close()
