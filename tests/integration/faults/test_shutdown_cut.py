"""SIGTERM during delivery: attempts still in flight when the grace period ends are cut,
logged and recorded as interrupted, and attempted again at once after a restart rather
than when their lease ends."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

import pytest
from aiohttp import web

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.history import create, message, wait_finished
from tests.harness.polling import wait_until
from tests.harness.protos import recipients, struct
from tests.harness.receiver import Received, StartReceiver
from tests.harness.server import StartServer

LEASE_MARGIN = timedelta(seconds=60)
"""Far longer than the test: a retry that waited for the lease would time the test out."""


async def test_attempts_cut_at_the_grace_period_are_retried_at_once(
    start_server: StartServer, start_receiver: StartReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    arrived = asyncio.Event()
    hold = True

    async def hang_then_ok(_: Received, __: int) -> web.StreamResponse:
        if hold:
            arrived.set()
            await receiver.release.wait()
        return web.Response(text="ok")

    receiver = await start_receiver(hang_then_ok)
    first = await start_server(
        shutdown_grace=timedelta(milliseconds=300), lease_margin=LEASE_MARGIN
    )
    api = await first.api()
    webhook = await create(api, receiver.url(), timeout=30.0)
    sent = await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(2), data=struct(text="x"))
    )
    ids = list(sent.message_ids)

    async def both_arrived() -> None:
        while len(receiver.received) < 2:
            await arrived.wait()
            arrived.clear()

    await asyncio.wait_for(both_arrived(), 10)
    caplog.set_level(logging.INFO, logger="hooksmith_server.delivery.dispatcher")
    started = time.monotonic()
    await first.app.stop()
    assert time.monotonic() - started < 5, "the stop did not cut at the grace period"

    cut = [r for r in caplog.records if "cut attempt" in r.getMessage()]
    assert {mid for mid in ids if any(mid in r.getMessage() for r in cut)} == set(ids)
    assert any("grace" in r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)

    hold = False
    second = await start_server(lease_margin=LEASE_MARGIN)
    api = await second.api()
    await wait_finished(api, ids, timeout=20)
    for mid in ids:
        got = await message(api, mid)
        assert got.status == pb.MESSAGE_STATUS_SUCCEEDED
        assert got.attempt_count == 2
        assert "interrupted" in got.attempts[0].error
        assert "shut down" in got.attempts[0].error
        assert got.attempts[1].response.status_code == 200


async def test_messages_waiting_for_their_rate_limit_turn_are_given_back_untried(
    start_server: StartServer, start_receiver: StartReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = await start_receiver()
    first = await start_server(
        shutdown_grace=timedelta(milliseconds=300), lease_margin=LEASE_MARGIN
    )
    api = await first.api()
    webhook = await create(api, receiver.url(), rate_limit=2.0)
    sent = await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(6), data=struct(text="x"))
    )
    ids = list(sent.message_ids)

    async def first_arrived() -> bool:
        return bool(receiver.received)

    await wait_until(first_arrived, timeout=10.0, every=0.01)
    caplog.set_level(logging.INFO, logger="hooksmith_server.delivery.dispatcher")
    await first.app.stop()
    assert any("given back untried" in r.getMessage() for r in caplog.records)
    arrived = {r.header("webhook-id") for r in receiver.received}

    # Read before any worker runs again: a server with no workers.
    reader = await start_server(workers=0)
    untried = [await message(await reader.api(), mid) for mid in ids if mid not in arrived]
    assert untried, "every message went out before the stop"
    for got in untried:
        assert got.status == pb.MESSAGE_STATUS_PENDING
        assert got.attempt_count == 0, got
        assert not got.attempts
    await reader.app.stop()

    second = await start_server(lease_margin=LEASE_MARGIN)
    api = await second.api()
    await wait_finished(api, ids, timeout=20)
    for mid in ids:
        got = await message(api, mid)
        assert got.status == pb.MESSAGE_STATUS_SUCCEEDED
        assert got.attempt_count == 1
