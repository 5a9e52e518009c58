"""`retry_failed` and the alert settings of `Client` and `SyncClient` against a real server."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web

from hooksmith import Client, SyncClient, errors
from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.polling import wait_until
from tests.harness.receiver import Received, StartReceiver
from tests.harness.server import Running


class Switch:
    def __init__(self) -> None:
        self.down = True

    def answer(self, _: Received, __: int) -> web.Response:
        return web.Response(status=400 if self.down else 200)


async def statuses(client: Client, ids: list[str]) -> set[int]:
    return {(await client.get_message(m)).status for m in ids}


async def test_retry_failed_requeues_and_repeats_safely(
    client: Client, start_receiver: StartReceiver
) -> None:
    switch = Switch()
    receiver = await start_receiver(switch.answer)
    hook = await client.create({"name": "r", "url": receiver.url(), "body": "{}"})
    start = datetime.now(UTC)
    ids = list((await client.send(hook.id, [{"user_id": f"u{i}"} for i in range(3)])).message_ids)

    async def failed() -> bool:
        return await statuses(client, ids) == {pb.MESSAGE_STATUS_FAILED}

    await wait_until(failed, timeout=30)
    switch.down = False
    end = datetime.now(UTC) + timedelta(seconds=1)
    assert await client.retry_failed(hook.id, start, end, request_id="night-1") == 3

    async def succeeded() -> bool:
        return await statuses(client, ids) == {pb.MESSAGE_STATUS_SUCCEEDED}

    await wait_until(succeeded, timeout=30)
    assert await client.retry_failed(hook.id, start, end, request_id="night-1") == 3
    assert await client.retry_failed(hook.id, start, end) == 0
    assert len(receiver.received) == 6
    with pytest.raises(errors.InvalidArgument):
        await client.retry_failed(hook.id, end, start)


async def test_alert_settings_round_trip(client: Client) -> None:
    assert (await client.get_alert_settings()).url == ""
    made = await client.update_alert_settings("https://ops.example.com/alerts")
    assert made.url == "https://ops.example.com/alerts"
    assert made.signing_secret.startswith("whsec_")
    assert await client.get_alert_settings() == made
    with pytest.raises(errors.InvalidArgument):
        await client.update_alert_settings("mailto:ops@example.com")
    assert (await client.update_alert_settings("")).url == ""


async def test_the_blocking_client_has_the_same_methods(
    server: Running, start_receiver: StartReceiver
) -> None:
    key = (await server.api()).key
    switch = Switch()
    receiver = await start_receiver(switch.answer)

    def scenario() -> tuple[int, int, pb.AlertSettings, pb.AlertSettings]:
        with SyncClient(server.address, key) as client:
            hook = client.create({"name": "s", "url": receiver.url(), "body": "{}"})
            start = datetime.now(UTC)
            ids = list(client.send(hook.id, [{"user_id": "a"}, {"user_id": "b"}]).message_ids)
            for _ in range(300):
                if all(client.get_message(m).status == pb.MESSAGE_STATUS_FAILED for m in ids):
                    break
                time.sleep(0.1)
            end = datetime.now(UTC) + timedelta(seconds=1)
            retried = client.retry_failed(hook.id, start, end, request_id="x")
            repeated = client.retry_failed(hook.id, start, end, request_id="x")
            made = client.update_alert_settings("https://ops.example.com/alerts")
            return retried, repeated, made, client.get_alert_settings()

    retried, repeated, made, got = await asyncio.to_thread(scenario)
    assert (retried, repeated) == (2, 2)
    assert made.signing_secret.startswith("whsec_")
    assert got == made
