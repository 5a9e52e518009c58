"""`hooksmith.SyncClient` against a real server. The server runs on the test's event loop,
so every blocking call is made from a worker thread."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from aiohttp import web

from hooksmith import SyncClient, errors
from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.receiver import Received, StartReceiver
from tests.harness.server import Running

SPEC = {"name": "sync", "url": "https://x.example.com/{{ userId }}", "body": '{"t": "{{ text }}"}'}


async def test_every_webhook_method_round_trips(server: Running) -> None:
    key = (await server.api()).key

    def scenario() -> dict[str, object]:
        with SyncClient(server.address, key) as client:
            made = [client.create({**SPEC, "name": f"s{i}"}) for i in range(5)]
            got = client.get(made[0].id)
            updated = client.update(made[0].id, {"name": "renamed"}, update_mask=["name"])
            rotated = client.rotate_secret(made[1].id)
            deleted = client.delete(made[2].id)
            rendered = client.render(made[0].id, recipient={"user_id": "u 1"}, data={"text": "x"})
            page = client.list(page_size=2)
            walked = [w.id for w in client.iter_webhooks(page_size=2)]
            return {
                "made": [w.id for w in made],
                "got": got == made[0],
                "updated": (updated.version, updated.spec.name),
                "rotated": rotated.signing_secret != made[1].signing_secret,
                "deleted": deleted.state,
                "url": rendered.request.url,
                "page": (len(page.webhooks), bool(page.next_page_token)),
                "walked": walked,
            }

    seen = await asyncio.to_thread(scenario)

    made = seen["made"]
    assert isinstance(made, list)
    assert seen["got"] is True
    assert seen["updated"] == (2, "renamed")
    assert seen["rotated"] is True
    assert seen["deleted"] == pb.WEBHOOK_STATE_ARCHIVED
    assert seen["url"] == "https://x.example.com/u%201"
    assert seen["page"] == (2, True)
    assert seen["walked"] == [made[4], made[3], made[1], made[0]]


async def test_messages_round_trip_and_iter_history_walks_every_page(
    server: Running, start_receiver: StartReceiver
) -> None:
    key = (await server.api()).key
    receiver = await start_receiver()

    def scenario() -> tuple[list[str], list[str], list[str], pb.Message, pb.Message, int]:
        with SyncClient(server.address, key) as client:
            hook = client.create({**SPEC, "url": receiver.url()})
            tested = client.send_test(hook.id, [pb.Recipient(user_id="t")], data={"text": "x"})
            sent = client.send(
                hook.id,
                [{"user_id": f"u{i}"} for i in range(5)],
                data={"text": "y"},
                idempotency_key="k",
                labels={"j": "1"},
            )
            for _ in range(300):
                if all(
                    client.get_message(m).status != pb.MESSAGE_STATUS_PENDING
                    for m in sent.message_ids
                ):
                    break
                time.sleep(0.1)
            walked = [m.id for m in client.iter_history(labels={"j": "1"}, page_size=2)]
            page = client.list_history(webhook_id=hook.id, page_size=2)
            retried = client.retry(sent.message_ids[0])
            fetched = client.get_message(sent.message_ids[1])
            return (
                list(sent.message_ids),
                walked,
                [m.id for m in tested.messages],
                retried,
                fetched,
                len(page.messages),
            )

    sent, walked, tested, retried, fetched, page_length = await asyncio.to_thread(scenario)

    assert sorted(walked) == sorted(sent)
    assert len(tested) == 1
    assert tested[0] not in walked
    assert retried.id == sent[0]
    assert fetched.status == pb.MESSAGE_STATUS_SUCCEEDED
    assert fetched.labels["j"] == "1"
    assert page_length == 2


async def test_statuses_become_error_classes(server: Running) -> None:
    console = (await server.api()).key
    journey = (await server.api("acme", "journey")).key

    def scenario() -> list[errors.HooksmithError]:
        caught: list[errors.HooksmithError] = []
        with SyncClient(server.address, console) as client:
            hook = client.create({**SPEC, "body": '{"a": "{{ a }}"}'})
            for call in (
                lambda: client.send(hook.id, [{"user_id": "u"}]),
                lambda: client.get("not-an-id"),
                lambda: client.get(hook.id, version=5),
            ):
                try:
                    call()
                except errors.HooksmithError as error:
                    caught.append(error)
        with SyncClient(server.address, "hs_bogus") as bogus:
            try:
                bogus.list()
            except errors.HooksmithError as error:
                caught.append(error)
        with SyncClient(server.address, journey) as as_journey:
            try:
                as_journey.create(SPEC)
            except errors.HooksmithError as error:
                caught.append(error)
        return caught

    caught = await asyncio.to_thread(scenario)

    assert [type(e) for e in caught] == [
        errors.InvalidArgument,
        errors.InvalidArgument,
        errors.NotFound,
        errors.Unauthenticated,
        errors.PermissionDenied,
    ]
    missing, malformed = caught[0], caught[1]
    assert isinstance(missing, errors.InvalidArgument)
    assert isinstance(malformed, errors.InvalidArgument)
    assert missing.violations == [("data.a", "data field 'a' is required by this webhook")]
    assert [field for field, _ in malformed.violations] == ["id"]
    assert all(isinstance(e.__cause__, grpc.RpcError) for e in caught)


async def test_deadlines_apply_per_client_and_per_call(
    server: Running, start_receiver: StartReceiver
) -> None:
    key = (await server.api()).key
    gate = asyncio.Event()

    async def held(_: Received, __: int) -> web.Response:
        await gate.wait()
        return web.Response(text="ok")

    receiver = await start_receiver(held)
    loop = asyncio.get_running_loop()

    def scenario() -> tuple[type[BaseException], type[BaseException], int]:
        with SyncClient(server.address, key, deadline=0.3) as client:
            hook = client.create({**SPEC, "url": receiver.url()}, deadline=10)
            with pytest.raises(errors.DeadlineExceeded) as by_default:
                client.send_test(hook.id, [{"user_id": "a"}], data={"text": "x"})
            with pytest.raises(errors.DeadlineExceeded) as per_call:
                client.send_test(hook.id, [{"user_id": "b"}], data={"text": "x"}, deadline=0.001)
            loop.call_soon_threadsafe(loop.call_later, 0.6, gate.set)
            answered = client.send_test(
                hook.id, [{"user_id": "c"}], data={"text": "x"}, deadline=30
            )
            return (
                by_default.type,
                per_call.type,
                answered.messages[0].attempts[0].response.status_code,
            )

    by_default, per_call, status = await asyncio.to_thread(scenario)

    assert by_default is errors.DeadlineExceeded
    assert per_call is errors.DeadlineExceeded
    assert status == 200


async def test_closing_closes_the_channel(server: Running) -> None:
    key = (await server.api()).key

    def scenario() -> None:
        client = SyncClient(server.address, key)
        with client:
            client.list()
        with pytest.raises(ValueError, match="closed channel"):
            client.list()

    await asyncio.to_thread(scenario)
