"""Workers: several processes share one queue, serve-only servers don't deliver, retention."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
from aiohttp import web

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith_server.app import Application
from hooksmith_server.service.retention import Retention
from hooksmith_server.store.db import Database
from hooksmith_server.store.retention import RetentionStore
from tests.harness.history import all_history, create, wait_none_pending
from tests.harness.polling import wait_until
from tests.harness.protos import recipients, struct
from tests.harness.receiver import Received
from tests.harness.server import settings_for_tests


async def test_many_workers_on_one_database_attempt_each_message_once(
    start_server, start_receiver
) -> None:
    async def slowish(_: Received, __: int) -> web.Response:
        await asyncio.sleep(0.01)
        return web.Response(text="ok")

    receiver = await start_receiver(slowish)
    front = await start_server(workers=0)
    api = await front.api()
    workers = [
        Application(settings_for_tests(workers=16), front.database_url, serve_grpc=False)
        for _ in range(3)
    ]
    for worker in workers:
        await worker.start()
    try:
        webhook = await create(api, receiver.url())
        sent = await api.Send(
            pb.SendRequest(webhook_id=webhook.id, recipients=recipients(600), data=struct(text="x"))
        )
        await wait_none_pending(api, webhook.id)
    finally:
        for worker in workers:
            await worker.stop()

    by_id = receiver.by_id()
    assert set(by_id) == set(sent.message_ids)
    assert all(len(requests) == 1 for requests in by_id.values())
    history = await all_history(api, webhook_id=webhook.id)
    assert {(m.status, m.attempt_count) for m in history} == {(pb.MESSAGE_STATUS_SUCCEEDED, 1)}


async def test_a_server_without_workers_stores_but_does_not_deliver(
    start_server, start_receiver
) -> None:
    receiver = await start_receiver()
    front = await start_server(workers=0)
    api = await front.api()
    webhook = await create(api, receiver.url())
    sent = await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(3), data=struct(text="x"))
    )
    await asyncio.sleep(0.5)
    assert receiver.received == []
    pending = await all_history(api, webhook_id=webhook.id, statuses=[pb.MESSAGE_STATUS_PENDING])
    assert {m.id for m in pending} == set(sent.message_ids)

    worker = Application(settings_for_tests(workers=4), front.database_url, serve_grpc=False)
    await worker.start()
    try:

        async def delivered() -> bool:
            return len(receiver.received) == 3

        await wait_until(delivered, timeout=10)
    finally:
        await worker.stop()


async def test_retention_deletes_old_finished_messages_only(api, server, start_receiver) -> None:
    receiver = await start_receiver()
    webhook = await create(api, receiver.url())
    old = await api.SendTest(
        pb.SendTestRequest(webhook_id=webhook.id, recipients=recipients(5), data=struct(text="x"))
    )
    fresh = await api.SendTest(
        pb.SendTestRequest(webhook_id=webhook.id, recipients=recipients(2), data=struct(text="x"))
    )
    conn = await asyncpg.connect(server.database_url)
    try:
        await conn.execute(
            "UPDATE messages SET create_time = $1, update_time = $1 WHERE id = ANY($2::uuid[])",
            datetime.now(UTC) - timedelta(days=31),
            [m.id for m in old.messages],
        )
    finally:
        await conn.close()
    database = await Database.connect(server.database_url, max_size=2)
    try:
        deleted = await Retention(RetentionStore(database), timedelta(days=30), batch=2).sweep()
    finally:
        await database.close()

    assert deleted == 5
    kept = await all_history(api, webhook_id=webhook.id)
    assert {m.id for m in kept} == {m.id for m in fresh.messages}
    conn = await asyncpg.connect(server.database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM attempts") == 2
    finally:
        await conn.close()
