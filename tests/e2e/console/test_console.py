"""The console in real headless Chromium, against a real server, database and receiver."""

from __future__ import annotations

import json

from aiohttp import web
from playwright.async_api import Browser, expect

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith_server.store.keys import KeyStore
from tests.e2e.console.pages import (
    console_url,
    create,
    fits_width,
    reload_until,
    screenshot,
    sign_in,
)
from tests.harness.history import wait_finished
from tests.harness.polling import wait_until
from tests.harness.protos import struct
from tests.harness.receiver import Received, StartReceiver
from tests.harness.server import StartServer

ADMIN = "127.0.0.1:0"
SCRIPT = "<script>window.pwned = 1; alert(1)</script>"
SECRET = "Bearer sk_live_0123456789abcdef"
DESKTOP = {"width": 1280, "height": 800}


async def test_a_failed_message_is_found_read_and_retried(
    start_server: StartServer, start_receiver: StartReceiver, browser: Browser
) -> None:
    # Two failures in a row show on the destination's health; three would pause it.
    server = await start_server(admin_listen=ADMIN, breaker_threshold=3)
    api = await server.api()
    healthy = {"now": False}

    def provider(_: Received, __: int) -> web.StreamResponse:
        if healthy["now"]:
            return web.json_response({"id": "sms-1", "accepted": True})
        return web.json_response({"error": "provider down", "code": "E_UPSTREAM"}, status=500)

    receiver = await start_receiver(provider)
    sms = await create(
        api,
        "SMS provider",
        receiver.url("/v1/messages"),
        body='{"to": "{{ tags.phone }}", "name": "{{ tags.name }}", "text": "{{ text }}"}',
        secret_header=SECRET,
    )
    sent = await api.Send(
        pb.SendRequest(
            webhook_id=sms.id,
            recipients=[pb.Recipient(user_id="u-42", tags=struct(phone="+8210", name=SCRIPT))],
            data=struct(text="Your code is 1234"),
            labels={"journey": "welcome"},
        )
    )
    [message_id] = sent.message_ids
    await wait_finished(api, [message_id])

    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))

    # Sign in: any page sends a visitor to the form first.
    await page.goto(console_url(server, "/webhooks"))
    await expect(page.locator("h1")).to_have_text("Sign in")
    await screenshot(page, "sign-in")
    await page.fill("#key", api.key)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/console/webhooks")

    # Webhooks: the webhook, its destination's trouble and the last 24 hours.
    card = page.locator("article.webhook", has_text="SMS provider")
    await expect(card.locator(".url")).to_have_text(receiver.url("/v1/messages"))
    await expect(card.locator(".n.failed")).to_have_text("1 failed")
    await expect(card.locator(".n.succeeded")).to_have_text("0 succeeded")
    await expect(card.locator("svg.chart rect.bar.failed")).to_have_count(1)
    await expect(card.locator(".health-failing")).to_have_text("2 failed attempts in a row")
    await expect(card).to_contain_text("HTTP 500")
    await screenshot(page, "webhooks")

    # History: the Failed tab, filtered by the label, has the message.
    await page.click("header >> text=History")
    await page.click(".tabs >> text=Failed")
    await page.fill("input[name=label]", "journey=welcome")
    await page.click(".filters button")
    rows = page.locator("table.messages tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("u-42")
    await expect(rows.first).to_contain_text("500")
    await screenshot(page, "history")
    await page.click("table.messages a.message-link")
    await page.wait_for_url(f"**/console/messages/{message_id}")

    # Message: each attempt's request beside its response, the secret masked, and the
    # tag holding a script shown as text.
    attempts = page.locator("section.attempt")
    await expect(attempts).to_have_count(2)
    last = attempts.first
    await expect(last.locator(".response .code")).to_have_text("500")
    await expect(last.locator(".response pre.body")).to_contain_text('"error": "provider down"')
    await expect(last.locator(".request .url")).to_have_text(receiver.url("/v1/messages"))
    request_body = await last.locator(".request pre.body").inner_text()
    assert json.loads(request_body)["name"] == SCRIPT
    headers = await last.locator(".request table.headers").inner_text()
    assert "Authorization" in headers
    assert "****" in headers
    assert SECRET not in await page.content()
    assert await page.evaluate("document.scripts.length") == 0
    assert await page.evaluate("window.pwned") is None
    await screenshot(page, "message")

    # Retry once the provider answers again: the new attempt succeeds.
    healthy["now"] = True
    await page.click("text=Retry")
    await expect(page.locator(".notice")).to_contain_text("Sent again")
    await reload_until(page, ".heading .badge.status", "succeeded")
    await expect(attempts).to_have_count(3)
    await expect(attempts.first.locator(".response .code")).to_have_text("200")
    await expect(attempts.first.locator("h3")).to_contain_text("manual")
    assert json.loads(receiver.received[-1].body)["name"] == SCRIPT

    # Preview: render for a user, then send a test to them.
    await page.click("header >> text=Preview")
    await page.select_option("#webhook", sms.id)
    await page.fill("#user", "u-7")
    await page.fill("#tags", '{"phone": "+8299", "name": "Ada"}')
    await page.fill("#data", '{"text": "Hello <b>there</b>"}')
    await page.click("button[value=render]")
    rendered = page.locator(".result pre.body")
    assert json.loads(await rendered.inner_text()) == {
        "to": "+8299",
        "name": "Ada",
        "text": "Hello <b>there</b>",
    }
    preview_headers = await page.locator(".result table.headers").inner_text()
    assert "****cdef" in preview_headers
    assert SECRET not in await page.content()
    await screenshot(page, "preview")
    await page.click("button[value=send]")
    await expect(page.locator(".result h2")).to_contain_text("succeeded")
    assert json.loads(receiver.received[-1].body)["to"] == "+8299"

    # Phone width: every page fits without sideways scrolling.
    await page.set_viewport_size({"width": 390, "height": 844})
    for path in (
        "/webhooks",
        "/history?status=succeeded",
        f"/messages/{message_id}",
        "/preview",
    ):
        await page.goto(console_url(server, path))
        assert await fits_width(page), f"{path} is wider than 390 px"
    assert dialogs == []
    await context.close()


async def test_another_workspace_sees_none_of_it(
    start_server: StartServer, start_receiver: StartReceiver, browser: Browser
) -> None:
    server = await start_server(admin_listen=ADMIN)
    acme, other = await server.api("acme"), await server.api("other")
    receiver = await start_receiver(lambda _, __: web.Response(status=500, text="acme only"))
    hook = await create(acme, "Acme private hook", receiver.url(), body='{"a": "{{ userId }}"}')
    test = await acme.SendTest(
        pb.SendTestRequest(webhook_id=hook.id, recipients=[pb.Recipient(user_id="u-1")])
    )
    [acme_message] = test.messages
    assert acme_message.status == pb.MESSAGE_STATUS_FAILED

    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    await sign_in(page, server, other.key)
    await expect(page.locator("header .workspace")).to_have_text("other")
    await expect(page.locator("main")).to_contain_text("No webhooks yet")
    assert "Acme private hook" not in await page.content()
    for tab in ("succeeded", "failed", "pending"):
        await page.goto(console_url(server, f"/history?status={tab}"))
        await expect(page.locator("main")).to_contain_text("No messages here.")
        assert "Acme private hook" not in await page.content()
    await page.goto(console_url(server, "/preview"))
    await expect(page.locator("main")).to_contain_text("No active webhooks")

    # Acme's message, asked for by id: not found, and a Retry of it changes nothing.
    response = await page.goto(console_url(server, f"/messages/{acme_message.id}"))
    assert response is not None
    assert response.status == 404
    await expect(page.locator(".error")).to_contain_text("not found")
    assert "acme only" not in await page.content()
    await page.goto(console_url(server, "/webhooks"))
    csrf = await page.locator("form.signout input[name=csrf]").input_value()
    refused = await context.request.post(
        console_url(server, f"/messages/{acme_message.id}/retry"),
        form={"csrf": csrf},
        max_redirects=0,
    )
    assert refused.status == 404
    again = (await acme.GetMessage(pb.GetMessageRequest(id=acme_message.id))).message
    assert again.status == pb.MESSAGE_STATUS_FAILED
    assert again.attempt_count == 1
    # A journey-scope key does not sign in at all.
    journey = await server.api("acme", "journey")
    fresh = await browser.new_context()
    login = await fresh.new_page()
    await login.goto(console_url(server, "/webhooks"))
    await login.fill("#key", journey.key)
    await login.click("button[type=submit]")
    await expect(login.locator(".error")).to_contain_text("console-scope key")
    await fresh.close()
    await context.close()


async def test_forms_without_their_csrf_token_are_refused(
    start_server: StartServer, start_receiver: StartReceiver, browser: Browser
) -> None:
    server = await start_server(admin_listen=ADMIN)
    api = await server.api()
    receiver = await start_receiver(lambda _, __: web.Response(status=503))
    hook = await create(api, "Flaky", receiver.url(), body='{"a": "{{ userId }}"}')
    test = await api.SendTest(
        pb.SendTestRequest(webhook_id=hook.id, recipients=[pb.Recipient(user_id="u-1")])
    )
    [failed] = test.messages

    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    # Signing in without the form's token is refused too.
    await page.goto(console_url(server, "/login"))
    no_token = await context.request.post(
        console_url(server, "/login"), form={"key": api.key}, max_redirects=0
    )
    assert no_token.status == 403
    await sign_in(page, server, api.key, f"/messages/{failed.id}")
    response = await page.goto(console_url(server, f"/messages/{failed.id}"))
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "script-src 'none'" in csp
    assert "default-src 'none'" in csp
    [cookie] = await context.cookies()
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    assert cookie["expires"] > 0

    retry = console_url(server, f"/messages/{failed.id}/retry")
    for form in ({}, {"csrf": ""}, {"csrf": "0" * 64}):
        refused = await context.request.post(retry, form=form, max_redirects=0)
        assert refused.status == 403, form
        assert "CSRF token" in await refused.text()
    after = (await api.GetMessage(pb.GetMessageRequest(id=failed.id))).message
    assert after.status == pb.MESSAGE_STATUS_FAILED
    assert after.attempt_count == 1

    # The page's own form, token and all, is taken.
    await page.click("text=Retry")
    await expect(page.locator(".notice")).to_contain_text("Sent again")
    await wait_finished(api, [failed.id])
    retried = (await api.GetMessage(pb.GetMessageRequest(id=failed.id))).message
    assert retried.attempt_count == 2
    assert retried.attempts[-1].trigger == pb.ATTEMPT_TRIGGER_MANUAL

    # Signing out, with the page's form, ends the session.
    await page.click("text=Sign out")
    await page.wait_for_url("**/console/login")
    await page.goto(console_url(server, "/webhooks"))
    assert "/console/login" in page.url


async def test_a_revoked_key_ends_its_sessions(start_server: StartServer, browser: Browser) -> None:
    server = await start_server(admin_listen=ADMIN)
    api = await server.api()
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    await sign_in(page, server, api.key)
    assert server.app.database is not None
    await KeyStore(server.app.database).revoke(api.key)

    # The revocation reaches the server's key cache through LISTEN, a moment later.
    async def sent_to_sign_in() -> bool:
        await page.goto(console_url(server, "/history"))
        return "/console/login" in page.url

    await wait_until(sent_to_sign_in, timeout=10)
    await page.fill("#key", api.key)
    await page.click("button[type=submit]")
    await expect(page.locator(".error")).to_contain_text("invalid or revoked API key")
    await context.close()
    await context.close()
