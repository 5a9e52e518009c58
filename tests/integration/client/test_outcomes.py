"""`Client.watch_outcomes` and `SyncClient.watch_outcomes` against real servers: filters,
and a stream that survives a server restart, resuming after the last outcome it yielded."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from hooksmith import Client, SyncClient, errors
from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.history import create, wait_finished
from tests.harness.outcomes import start_cursor
from tests.harness.protos import recipients, struct
from tests.harness.receiver import StartReceiver
from tests.harness.server import Api, Running, StartServer


async def send(api: Api, webhook: pb.Webhook, n: int, prefix: str) -> list[str]:
    sent = await api.Send(
        pb.SendRequest(
            webhook_id=webhook.id,
            recipients=recipients(n, prefix),
            data=struct(text="x"),
            labels={"batch": prefix},
        )
    )
    return list(sent.message_ids)


async def test_the_stream_resumes_after_a_server_restart_without_gaps_or_repeats(
    start_server: StartServer, start_receiver: StartReceiver
) -> None:
    one = await start_server()
    api = await one.api()
    receiver = await start_receiver()
    webhook = await create(api, receiver.url())
    cursor = await start_cursor(one, api)
    first = await send(api, webhook, 50, "first")
    await wait_finished(api, first)

    seen: list[pb.Outcome] = []
    async with Client(one.address, api.key) as client:
        stream = client.watch_outcomes(after_cursor=cursor)
        async with asyncio.timeout(60):
            while len(seen) < 20:
                seen.append(await anext(stream))
            # The server goes away mid-stream; another takes its address.
            await one.app.stop()
            two = await start_server(listen=one.address)
            second = await send(await two.api(), webhook, 30, "second")
            while len(seen) < 80:
                seen.append(await anext(stream))
        await stream.aclose()

    ids = [o.message_id for o in seen]
    assert len(ids) == len(set(ids)) == 80
    assert set(ids) == set(first) | set(second)


async def test_filters_reach_the_server(
    server: Running, api: Api, client: Client, start_receiver: StartReceiver
) -> None:
    receiver = await start_receiver()
    a = await create(api, receiver.url("/a"))
    b = await create(api, receiver.url("/b"))
    cursor = await start_cursor(server, api)
    await send(api, b, 3, "other-webhook")
    await send(api, a, 3, "other-label")
    wanted = await send(api, a, 2, "wanted")

    stream = client.watch_outcomes(
        webhook_ids=[a.id], labels={"batch": "wanted"}, after_cursor=cursor
    )
    async with asyncio.timeout(30):
        got = [await anext(stream) for _ in range(2)]
    await stream.aclose()

    assert sorted(o.message_id for o in got) == sorted(wanted)


async def test_a_bad_cursor_is_raised_not_retried(client: Client) -> None:
    stream = client.watch_outcomes(after_cursor="not-a-cursor")
    with pytest.raises(errors.InvalidArgument) as caught:
        await anext(stream)
    assert caught.value.violations[0].field == "after_cursor"


async def test_the_blocking_client_iterates_outcomes(
    server: Running, api: Api, start_receiver: StartReceiver
) -> None:
    receiver = await start_receiver()
    webhook = await create(api, receiver.url())
    cursor = await start_cursor(server, api)
    sent = await send(api, webhook, 5, "sync")

    def read() -> list[pb.Outcome]:
        with SyncClient(server.address, api.key) as client:
            stream = client.watch_outcomes(after_cursor=cursor)
            got = list(itertools.islice(stream, 5))
            stream.close()
            return got

    got = await asyncio.wait_for(asyncio.to_thread(read), 60)

    assert sorted(o.message_id for o in got) == sorted(sent)
    assert all(o.status == pb.MESSAGE_STATUS_SUCCEEDED for o in got)
