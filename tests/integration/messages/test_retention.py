"""Retention runs by itself, every HOOKSMITH_RETENTION_INTERVAL, in `serve` and in `worker`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import grpc

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith_server.app import Application
from hooksmith_server.service.retention import Retention
from hooksmith_server.store.db import Database
from hooksmith_server.store.retention import RetentionStore
from tests.harness.history import create, message, wait_finished
from tests.harness.polling import wait_until
from tests.harness.protos import recipients, struct
from tests.harness.receiver import StartReceiver
from tests.harness.server import Api, Running, StartServer, settings_for_tests

INTERVAL = timedelta(milliseconds=200)
# Far below the 60 s default, far above the interval: only a sweep every interval is in time.
WITHIN = 10.0
OLD = "UPDATE messages SET create_time = $2, update_time = $2 WHERE id = $1"
OLD_AND_PENDING = (
    "UPDATE messages SET create_time = $2, update_time = $2, status = 'PENDING',"
    " next_attempt_time = now() + interval '1 day' WHERE id = $1"
)


async def execute(database_url: str, query: str, *args: object) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(query, *args)
    finally:
        await conn.close()


async def exists(api: Api, message_id: str) -> bool:
    try:
        await message(api, message_id)
    except grpc.aio.AioRpcError as e:
        if e.code() == grpc.StatusCode.NOT_FOUND:
            return False
        raise
    return True


async def expect_swept_periodically(api: Api, database_url: str, url: str) -> None:
    """Old finished messages go without a call to `sweep`; pending and recent ones stay."""
    webhook = await create(api, url)
    out = await api.SendTest(
        pb.SendTestRequest(webhook_id=webhook.id, recipients=recipients(4), data=struct(text="x"))
    )
    pending, recent, first, second = (m.id for m in out.messages)
    month_ago = datetime.now(UTC) - timedelta(days=31)
    await execute(database_url, OLD_AND_PENDING, uuid.UUID(pending), month_ago)

    async def gone(mid: str) -> bool:
        return not await exists(api, mid)

    await execute(database_url, OLD, uuid.UUID(first), month_ago)
    await wait_until(lambda: gone(first), timeout=WITHIN, every=0.1)
    # Made old only after a sweep has run: it takes a later one, so the task repeats.
    await execute(database_url, OLD, uuid.UUID(second), month_ago)
    await wait_until(lambda: gone(second), timeout=WITHIN, every=0.1)

    # Those sweeps saw the pending message old, and it stayed.
    assert (await message(api, pending)).status == pb.MESSAGE_STATUS_PENDING
    assert (await message(api, recent)).status == pb.MESSAGE_STATUS_SUCCEEDED


async def test_serve_sweeps_every_interval(start_server: StartServer, start_receiver) -> None:
    server = await start_server(retention_interval=INTERVAL)
    api = await server.api()
    receiver = await start_receiver()
    await expect_swept_periodically(api, server.database_url, receiver.url())


async def test_a_worker_sweeps_every_interval(start_server: StartServer, start_receiver) -> None:
    # The front delivers nothing, so it runs no retention: the worker alone sweeps.
    front = await start_server(workers=0)
    api = await front.api()
    receiver = await start_receiver()
    worker = Application(
        settings_for_tests(workers=4, retention_interval=INTERVAL),
        front.database_url,
        serve_grpc=False,
    )
    await worker.start()
    try:
        await expect_swept_periodically(api, front.database_url, receiver.url())
    finally:
        await worker.stop()


async def test_a_late_repeat_of_a_send_whose_message_was_removed_sends_nothing(
    server: Running, api: Api, start_receiver: StartReceiver
) -> None:
    receiver = await start_receiver()
    webhook = await create(api, receiver.url())

    def send(key: str) -> Any:
        return api.Send(
            pb.SendRequest(
                webhook_id=webhook.id,
                recipients=recipients(1),
                data=struct(text="x"),
                idempotency_key=key,
            )
        )

    first = (await send("run-7:step-2")).message_ids[0]
    await wait_finished(api, [first])
    await execute(
        server.database_url, OLD, uuid.UUID(first), datetime.now(UTC) - timedelta(days=31)
    )
    database = await Database.connect(server.database_url, max_size=2)
    try:
        assert await Retention(RetentionStore(database), timedelta(days=30)).sweep() == 1
    finally:
        await database.close()
    assert not await exists(api, first)

    # The journey engine retries the step late: the same id, and no new message.
    again = await send("run-7:step-2")
    assert list(again.message_ids) == [first]
    assert not await exists(api, first)
    # A message sent after it arrives; the repeat never does.
    other = (await send("run-7:step-3")).message_ids[0]
    await wait_finished(api, [other])
    assert [r.header("webhook-id") for r in receiver.received] == [first, other]
