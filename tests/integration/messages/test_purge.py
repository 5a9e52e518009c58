"""PurgeUser: a user's requests, responses, recipient and data leave history; the messages
stay, marked purged, and nothing of theirs is sent again."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import grpc
import pytest
from aiohttp import web

from hooksmith import Client, errors
from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith_server.store.queries import Queries
from tests.harness.grpc_errors import expect_error, expect_invalid
from tests.harness.history import create, message, wait_finished
from tests.harness.polling import wait_until
from tests.harness.protos import struct
from tests.harness.receiver import Received, Receiver, StartReceiver
from tests.harness.server import Api, Running

PHONE = "+821012345678"
TEXT = "Your code is 1234"


async def send_to(api: Api, webhook: pb.Webhook, user_id: str) -> str:
    sent = await api.Send(
        pb.SendRequest(
            webhook_id=webhook.id,
            recipients=[pb.Recipient(user_id=user_id, tags=struct(phone_number=PHONE))],
            data=struct(text=TEXT),
        )
    )
    return str(sent.message_ids[0])


async def raw_rows(server: Running, message_id: str) -> str:
    """Everything stored for a message and its attempts, as one text to search."""
    conn = await asyncpg.connect(server.database_url)
    try:
        head = await conn.fetchrow("SELECT * FROM messages WHERE id = $1::uuid", message_id)
        attempts = await conn.fetch(
            "SELECT * FROM attempts WHERE message_id = $1::uuid", message_id
        )
    finally:
        await conn.close()
    assert head is not None
    return json.dumps([dict(head), *[dict(a) for a in attempts]], default=str)


async def test_purge_erases_a_users_history_and_keeps_the_messages(
    server: Running, api: Api, start_receiver: StartReceiver
) -> None:
    receiver = await start_receiver()
    webhook = await create(
        api, receiver.url(), body='{"to": "{{ tags.phone_number }}", "text": "{{ text }}"}'
    )
    mine = [await send_to(api, webhook, "u-1") for _ in range(2)]
    other = await send_to(api, webhook, "u-2")
    await wait_finished(api, [*mine, other])
    assert PHONE in await raw_rows(server, mine[0])

    purged = await api.PurgeUser(pb.PurgeUserRequest(user_id="u-1"))
    assert purged.purged_messages == 2

    for mid in mine:
        got = await message(api, mid)
        assert got.status == pb.MESSAGE_STATUS_SUCCEEDED
        assert got.HasField("purge_time")
        assert not got.HasField("request")
        assert not got.HasField("response")
        assert [a.HasField("request") or a.HasField("response") for a in got.attempts] == [False]
        stored = await raw_rows(server, mid)
        assert PHONE not in stored
        assert TEXT not in stored
    # Another user's history is untouched.
    kept = await message(api, other)
    assert not kept.HasField("purge_time")
    assert PHONE in kept.request.body
    # A second purge finds nothing new; history still lists the purged messages.
    assert (await api.PurgeUser(pb.PurgeUserRequest(user_id="u-1"))).purged_messages == 0
    listed = await api.ListHistory(pb.ListHistoryRequest(user_id="u-1"))
    assert {m.id for m in listed.messages} == set(mine)
    assert all(m.HasField("purge_time") for m in listed.messages)
    # Retry would send without the erased data: refused.
    await expect_error(
        api.Retry(pb.RetryRequest(message_id=mine[0])), grpc.StatusCode.FAILED_PRECONDITION
    )


async def held_in_flight(
    api: Api, start_receiver: StartReceiver, user_id: str
) -> tuple[Receiver, pb.Webhook, str]:
    """A message of `user_id` whose attempt the receiver holds until `receiver.release`."""
    arrived = asyncio.Event()

    async def hold(_: Received, __: int) -> web.Response:
        arrived.set()
        await receiver.release.wait()
        return web.Response(text=f"echo {PHONE}")

    receiver = await start_receiver(hold)
    webhook = await create(
        api, receiver.url(), body='{"to": "{{ tags.phone_number }}", "text": "{{ text }}"}'
    )
    in_flight = await send_to(api, webhook, user_id)
    await asyncio.wait_for(arrived.wait(), 10)
    return receiver, webhook, in_flight


async def test_a_pending_message_is_failed_and_its_late_outcome_not_kept(
    server: Running, api: Api, start_receiver: StartReceiver
) -> None:
    receiver, webhook, in_flight = await held_in_flight(api, start_receiver, "u-1")

    assert (await api.PurgeUser(pb.PurgeUserRequest(user_id="u-1"))).purged_messages == 1
    got = await message(api, in_flight)
    assert got.status == pb.MESSAGE_STATUS_FAILED
    assert "purged" in got.error
    # The attempt in flight ends; its request and response are not written back.
    receiver.release.set()

    async def recorded() -> bool:
        conn = await asyncpg.connect(server.database_url)
        try:
            return bool(
                await conn.fetchval(
                    "SELECT duration IS NOT NULL FROM attempts WHERE message_id = $1::uuid",
                    in_flight,
                )
            )
        finally:
            await conn.close()

    # The attempt's own write is skipped whole for a purged message: give the recorder
    # time by waiting on a later message of another user being recorded.
    other = await send_to(api, webhook, "u-2")
    await wait_finished(api, [other])
    assert not await recorded()
    stored = await raw_rows(server, in_flight)
    assert PHONE not in stored
    assert (await message(api, in_flight)).status == pb.MESSAGE_STATUS_FAILED
    assert len([r for r in receiver.received if r.body]) == 2


async def test_an_outcome_waiting_on_a_purge_that_commits_keeps_nothing(
    server: Running, api: Api, start_receiver: StartReceiver
) -> None:
    """The attempt ends while a purge holds its rows; the purge commits; nothing comes back."""
    receiver, webhook, in_flight = await held_in_flight(api, start_receiver, "u-1")

    purge = Queries("purge.sql")
    conn = await asyncpg.connect(server.database_url)
    try:
        async with conn.transaction():
            workspace = await conn.fetchval(
                "SELECT workspace_id FROM messages WHERE id = $1::uuid", in_flight
            )
            purged = await conn.fetch(purge.purge_messages, workspace, "u-1", "purged")
            await conn.execute(purge.purge_attempts, workspace, [r["id"] for r in purged])
            # The attempt ends; its outcome waits for the purge's locks.
            receiver.release.set()

            async def recorder_waits() -> bool:
                return bool(
                    await server_conn_fetchval(
                        server,
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE wait_event_type = 'Lock' AND query LIKE '%jsonb_to_recordset%'",
                    )
                )

            await wait_until(recorder_waits, timeout=10, every=0.02)
    finally:
        await conn.close()

    other = await send_to(api, webhook, "u-2")
    await wait_finished(api, [other])
    stored = await raw_rows(server, in_flight)
    assert PHONE not in stored
    assert TEXT not in stored
    # Another user's attempt is recorded whole.
    kept = await message(api, other)
    assert kept.attempts[0].response.status_code == 200
    assert PHONE in kept.attempts[0].request.body
    got = await message(api, in_flight)
    assert got.status == pb.MESSAGE_STATUS_FAILED
    assert got.purge_time.seconds > 0


async def server_conn_fetchval(server: Running, query: str) -> object:
    conn = await asyncpg.connect(server.database_url)
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


async def test_purge_needs_a_console_key_and_a_user(server: Running, api: Api) -> None:
    journey = await server.api(scope="journey")
    await expect_error(
        journey.PurgeUser(pb.PurgeUserRequest(user_id="u-1")), grpc.StatusCode.PERMISSION_DENIED
    )
    await expect_invalid(api.PurgeUser(pb.PurgeUserRequest(user_id="")), "user_id", "required")
    await expect_invalid(
        api.PurgeUser(pb.PurgeUserRequest(user_id="u" * 257)), "user_id", "at most 256"
    )


async def test_clients_purge_user(server: Running, api: Api, start_receiver: StartReceiver) -> None:
    receiver = await start_receiver()
    webhook = await create(api, receiver.url())
    mid = await send_to(api, webhook, "u-9")
    await wait_finished(api, [mid])
    async with Client(server.address, api.key) as client:
        assert await client.purge_user("u-9") == 1
        assert (await client.get_message(mid)).HasField("purge_time")
        with pytest.raises(errors.InvalidArgument) as refused:
            await client.purge_user("")
        assert ("user_id", "is required") in refused.value.violations

    async def purged_twice_is_zero() -> bool:
        return (await api.PurgeUser(pb.PurgeUserRequest(user_id="u-9"))).purged_messages == 0

    await wait_until(purged_twice_is_zero, timeout=5)
