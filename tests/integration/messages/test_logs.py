"""Delivery logs: a line per story (failed for good, breaker), every attempt at DEBUG only."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from aiohttp import web

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.history import create, wait_none_pending
from tests.harness.polling import wait_until
from tests.harness.protos import recipients, struct
from tests.harness.server import StartServer

SECRET = "sk_live_never_logged"


async def test_info_tells_which_messages_failed_for_good_and_never_a_secret(
    start_server: StartServer, start_receiver, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start_server()
    api = await server.api()
    receiver = await start_receiver(lambda _, __: web.Response(status=400, text=SECRET))
    webhook = await create(
        api,
        receiver.url("/sms"),
        headers=(pb.Header(name="Authorization", value=f"Bearer {SECRET}", secret=True),),
    )
    with caplog.at_level(logging.INFO, logger="hooksmith_server"):
        sent = await api.Send(
            pb.SendRequest(
                webhook_id=webhook.id, recipients=recipients(4), data=struct(text=SECRET)
            )
        )
        await wait_none_pending(api, webhook.id, timeout=20.0)

    lines = [r.getMessage() for r in caplog.records if r.name.startswith("hooksmith_server")]
    assert all(SECRET not in line for line in lines)
    assert not [r for r in caplog.records if r.levelno == logging.DEBUG]
    failed = [line for line in lines if "failed after 1 attempt(s): HTTP 400" in line]
    assert sorted(line.split()[1] for line in failed) == sorted(sent.message_ids)
    assert all(webhook.id in line for line in failed)


async def test_info_tells_when_a_destination_is_paused_once_not_per_attempt(
    start_server: StartServer, start_receiver, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start_server(breaker_threshold=3, breaker_cooldown=timedelta(seconds=30))
    api = await server.api()
    receiver = await start_receiver(lambda _, __: web.Response(status=500))
    webhook = await create(api, receiver.url("/sms"), schedule=(0.05,) * 5)

    def paused() -> list[str]:
        return [r.getMessage() for r in caplog.records if "paused until" in r.getMessage()]

    async def logged() -> bool:
        return bool(paused())

    with caplog.at_level(logging.INFO, logger="hooksmith_server"):
        await api.Send(
            pb.SendRequest(webhook_id=webhook.id, recipients=recipients(8), data=struct(text="x"))
        )
        await wait_until(logged, timeout=20.0)
        await asyncio.sleep(0.5)
    assert len(paused()) == 1
    assert "destination 127.0.0.1" in paused()[0]
    assert "last error: HTTP 500" in paused()[0]
    # Attempts that will be retried are not lines of their own above DEBUG.
    info = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert info == paused()


async def test_debug_has_one_line_per_attempt(
    start_server: StartServer, start_receiver, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start_server()
    api = await server.api()
    receiver = await start_receiver()
    webhook = await create(api, receiver.url("/ok"))
    with caplog.at_level(logging.DEBUG, logger="hooksmith_server.delivery"):
        sent = await api.Send(
            pb.SendRequest(webhook_id=webhook.id, recipients=recipients(3), data=struct(text="x"))
        )
        await wait_none_pending(api, webhook.id, timeout=20.0)
    attempts = [r.getMessage() for r in caplog.records if r.getMessage().startswith("attempt 1 of")]
    assert sorted(line.split()[4] for line in attempts) == sorted(sent.message_ids)
    assert all("HTTP 200" in line and "now SUCCEEDED" in line for line in attempts)
    assert not [r for r in caplog.records if "failed after" in r.getMessage()]
