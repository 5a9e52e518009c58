"""What must never stall delivery: odd receivers, interrupted attempts, replays, races."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from aiohttp import web
from standardwebhooks.webhooks import Webhook as Verifier

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith_server import domain
from hooksmith_server.app import Application
from hooksmith_server.service.retention import Retention
from hooksmith_server.store.catalog import WebhookStore
from hooksmith_server.store.db import Database
from hooksmith_server.store.queue import GAVE_UP, INTERRUPTED_TEST, MAX_INTERRUPTED, QueueStore
from hooksmith_server.store.retention import RetentionStore
from tests.harness.history import all_history, create, message, wait_finished, wait_none_pending
from tests.harness.protos import recipients, struct
from tests.harness.receiver import Received
from tests.harness.server import Api, Running, keyring, settings_for_tests


@pytest.fixture
async def store(server: Running) -> AsyncIterator[QueueStore]:
    database = await Database.connect(server.database_url, max_size=2)
    yield QueueStore(database)
    await database.close()


async def sql(server: Running, query: str, *args: object) -> object:
    conn = await asyncpg.connect(server.database_url)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def test_a_nul_byte_in_a_response_is_stored_and_delivery_goes_on(
    server: Running, start_receiver
) -> None:
    odd = await start_receiver(lambda _, __: web.Response(body=b"ok\x00done"))
    healthy = await start_receiver()
    acme = await server.api("acme")
    globex = await server.api("globex")
    odd_hook = await create(acme, odd.url())
    good_hook = await create(globex, healthy.url())

    tested = await acme.SendTest(
        pb.SendTestRequest(webhook_id=odd_hook.id, recipients=recipients(1), data=struct(text="x"))
    )
    assert tested.messages[0].status == pb.MESSAGE_STATUS_SUCCEEDED
    assert tested.messages[0].response.body == "ok\ufffddone"
    sent_odd = await acme.Send(
        pb.SendRequest(webhook_id=odd_hook.id, recipients=recipients(3), data=struct(text="x"))
    )
    sent_good = await globex.Send(
        pb.SendRequest(webhook_id=good_hook.id, recipients=recipients(5), data=struct(text="x"))
    )
    await wait_finished(acme, list(sent_odd.message_ids))
    await wait_finished(globex, list(sent_good.message_ids))
    assert len(healthy.received) == 5
    assert len(odd.received) == 4
    assert (await message(acme, sent_odd.message_ids[0])).status == pb.MESSAGE_STATUS_SUCCEEDED


async def test_live_deliveries_are_signed(api: Api, start_receiver) -> None:
    receiver = await start_receiver()
    webhook = await create(api, receiver.url())
    sent = await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(20), data=struct(text="x"))
    )
    await wait_none_pending(api, webhook.id)
    assert {r.header("webhook-id") for r in receiver.received} == set(sent.message_ids)
    for request in receiver.received:
        Verifier(webhook.signing_secret).verify(request.body, dict(request.headers))


async def test_an_interrupted_test_send_is_failed_not_sent_again(
    server: Running, api: Api, store: QueueStore, start_receiver
) -> None:
    receiver = await start_receiver()
    webhook = await create(api, receiver.url())
    stored = await WebhookStore(store._db, keyring=keyring()).get(
        (await _workspace(server)), uuid.UUID(webhook.id)
    )
    mid = uuid.uuid4()
    # As SendTest leaves it when its process dies before the outcome: claimed, lease expired.
    await store.insert_test(
        await _workspace(server),
        stored,
        [domain.NewMessage(mid, domain.Recipient("u1"))],
        {"text": "x"},
        timedelta(0),
        "127.0.0.1",
    )
    await wait_finished(api, [str(mid)], timeout=10.0)
    m = await message(api, str(mid))
    assert m.status == pb.MESSAGE_STATUS_FAILED
    assert m.error == INTERRUPTED_TEST
    assert receiver.received == []


async def test_a_message_interrupted_again_and_again_is_failed(
    start_server, start_receiver
) -> None:
    receiver = await start_receiver()
    front = await start_server(workers=0)
    api = await front.api()
    webhook = await create(api, receiver.url())
    sent = await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(1), data=struct(text="x"))
    )
    # As left by workers that died during each of its last attempts.
    await sql(
        front,
        "UPDATE messages SET attempt_count = $2, interrupted_attempts = $3,"
        " locked_until = now() - interval '1 s', next_attempt_time = now() - interval '1 s'"
        " WHERE id = $1",
        uuid.UUID(sent.message_ids[0]),
        MAX_INTERRUPTED + 1,
        MAX_INTERRUPTED,
    )
    worker = Application(settings_for_tests(workers=4), front.database_url, serve_grpc=False)
    await worker.start()
    try:
        await wait_finished(api, list(sent.message_ids), timeout=10)
    finally:
        await worker.stop()
    m = await message(api, sent.message_ids[0])
    assert m.status == pb.MESSAGE_STATUS_FAILED
    assert m.error == GAVE_UP
    assert receiver.received == []


async def _workspace(server: Running) -> uuid.UUID:
    value = await sql(server, "SELECT id FROM workspaces WHERE name = 'acme'")
    assert isinstance(value, uuid.UUID)
    return value


async def test_a_replayed_outcome_does_not_undo_a_retry(start_server, start_receiver) -> None:
    # No workers: nothing but this test touches the message.
    server = await start_server(workers=0)
    api = await server.api()
    database = await Database.connect(server.database_url, max_size=2)
    store = QueueStore(database)
    receiver = await start_receiver(lambda _, __: web.Response(status=400))
    webhook = await create(api, receiver.url())
    sent = await api.SendTest(
        pb.SendTestRequest(webhook_id=webhook.id, recipients=recipients(1), data=struct(text="x"))
    )
    mid = uuid.UUID(sent.messages[0].id)
    workspace = await _workspace(server)
    assert await store.requeue(workspace, mid)
    # The first attempt's outcome written again (a retried batch whose commit did land).
    claim = domain.Claim(
        workspace,
        mid,
        uuid.UUID(webhook.id),
        1,
        domain.MessageKind.TEST,
        domain.Recipient("user-0"),
        {"text": "x"},
        "127.0.0.1",
        1,
        0,
        False,
    )
    replay = domain.Outcome(
        claim,
        datetime.now(UTC),
        timedelta(0),
        None,
        None,
        "HTTP 400",
        domain.MessageStatus.FAILED,
        1,
        None,
    )
    try:
        await store.record([replay])
    finally:
        await database.close()
    status = await sql(server, "SELECT status FROM messages WHERE id = $1", mid)
    manual = await sql(server, "SELECT manual FROM messages WHERE id = $1", mid)
    assert (status, manual) == ("PENDING", True)


async def test_concurrent_idempotent_sends_in_opposite_orders_agree(
    api: Api, start_receiver
) -> None:
    receiver = await start_receiver()
    webhook = await create(api, receiver.url())
    users = recipients(400)

    def send(order: list[pb.Recipient]) -> object:
        return api.Send(
            pb.SendRequest(
                webhook_id=webhook.id,
                recipients=order,
                data=struct(text="x"),
                idempotency_key="run-1",
            )
        )

    forward, backward = await asyncio.gather(send(users), send(list(reversed(users))))
    assert list(forward.message_ids) == list(reversed(backward.message_ids))
    assert len(set(forward.message_ids)) == 400


async def test_retention_keeps_pending_messages_and_counts_from_the_finish(
    server: Running, api: Api, store: QueueStore, start_receiver
) -> None:
    receiver = await start_receiver()
    webhook = await create(api, receiver.url())
    finished = await api.SendTest(
        pb.SendTestRequest(webhook_id=webhook.id, recipients=recipients(3), data=struct(text="x"))
    )
    ids = [uuid.UUID(m.id) for m in finished.messages]
    month_ago = datetime.now(UTC) - timedelta(days=31)
    # Old and finished long ago; old but finished just now; old and still pending.
    await sql(
        server,
        "UPDATE messages SET create_time = $2, update_time = $2 WHERE id = $1",
        ids[0],
        month_ago,
    )
    await sql(server, "UPDATE messages SET create_time = $2 WHERE id = $1", ids[1], month_ago)
    await sql(
        server,
        "UPDATE messages SET create_time = $2, update_time = $2, status = 'PENDING',"
        " next_attempt_time = now() + interval '1 day' WHERE id = $1",
        ids[2],
        month_ago,
    )
    deleted = await Retention(RetentionStore(store._db), timedelta(days=30)).sweep()
    assert deleted == 1
    kept = {uuid.UUID(m.id) for m in await all_history(api, webhook_id=webhook.id)}
    assert kept == {ids[1], ids[2]}


async def test_redirect_target_and_receiver_body_with_binary_are_recorded(
    api: Api, start_receiver
) -> None:
    def binary(_: Received, __: int) -> web.Response:
        return web.Response(body=bytes(range(256)), status=500)

    receiver = await start_receiver(binary)
    webhook = await create(api, receiver.url())
    out = await api.SendTest(
        pb.SendTestRequest(webhook_id=webhook.id, recipients=recipients(1), data=struct(text="x"))
    )
    m = out.messages[0]
    assert m.status == pb.MESSAGE_STATUS_FAILED
    assert m.response.status_code == 500
    assert "\x00" not in m.response.body
    assert len(m.response.body) == 256
