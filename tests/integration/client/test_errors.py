"""Statuses become `hooksmith.errors` classes, with the BadRequest violations decoded."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from aiohttp import web

from hooksmith import Client, HooksmithError, errors
from tests.harness.receiver import Received, StartReceiver
from tests.harness.server import Running

TWO_FIELDS = '{"t": "{{ text }}", "n": "{{ n }}"}'


async def test_invalid_argument_carries_the_field_violations(client: Client) -> None:
    hook = await client.create({"name": "a", "url": "https://x.example.com", "body": TWO_FIELDS})

    with pytest.raises(errors.InvalidArgument) as caught:
        await client.send(hook.id, [{"user_id": "u1"}])

    error = caught.value
    assert error.violations == [
        ("data.n", "data field 'n' is required by this webhook"),
        ("data.text", "data field 'text' is required by this webhook"),
    ]
    assert error.violations[1].field == "data.text"
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details.startswith("data.n: data field 'n' is required")
    assert error.status is not None
    assert error.status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert isinstance(error, HooksmithError)
    assert not isinstance(error, grpc.RpcError)
    assert isinstance(error.__cause__, grpc.RpcError)


async def test_invalid_spec_names_each_field(client: Client) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        await client.create({"url": "https://x.example.com", "policy": {"timeout": "100s"}})

    assert caught.value.violations == [
        ("spec.name", "is required"),
        ("spec.policy.timeout", "must be more than 0 s and at most 60 s"),
    ]


async def test_unknown_ids_are_not_found(client: Client) -> None:
    hook = await client.create({"name": "a", "url": "https://x.example.com", "body": "{}"})

    with pytest.raises(errors.NotFound) as caught:
        await client.get(hook.id, version=9)
    assert caught.value.code == grpc.StatusCode.NOT_FOUND
    assert not hasattr(caught.value, "violations")


async def test_stale_expected_version_is_aborted_and_archived_sends_fail_precondition(
    client: Client,
) -> None:
    hook = await client.create({"name": "a", "url": "https://x.example.com", "body": "{}"})
    await client.update(hook.id, {"name": "b"}, update_mask=["name"])

    with pytest.raises(errors.Aborted):
        await client.update(hook.id, {"name": "c"}, update_mask=["name"], expected_version=1)
    await client.delete(hook.id)
    with pytest.raises(errors.FailedPrecondition):
        await client.send(hook.id, [{"user_id": "u1"}])


async def test_a_bad_key_is_unauthenticated(server: Running) -> None:
    async with Client(server.address, "hs_not_a_real_key") as client:
        with pytest.raises(errors.Unauthenticated) as caught:
            await client.list()
    assert caught.value.code == grpc.StatusCode.UNAUTHENTICATED


async def test_a_journey_key_may_not_create(server: Running, client: Client) -> None:
    journey = await server.api("acme", "journey")
    hook = await client.create({"name": "a", "url": "https://x.example.com", "body": "{}"})

    async with Client(server.address, journey.key) as as_journey:
        assert (await as_journey.get(hook.id)).id == hook.id
        with pytest.raises(errors.PermissionDenied):
            await as_journey.create({"name": "a", "url": "https://x.example.com", "body": "{}"})
        with pytest.raises(errors.PermissionDenied):
            await as_journey.rotate_secret(hook.id)


async def held_webhook(client: Client, start_receiver: StartReceiver) -> tuple[str, asyncio.Event]:
    """A webhook whose receiver answers only once the returned event is set."""
    gate = asyncio.Event()

    async def held(_: Received, __: int) -> web.Response:
        await gate.wait()
        return web.Response(text="ok")

    receiver = await start_receiver(held)
    hook = await client.create({"name": "slow", "url": receiver.url(), "body": "{}"})
    return hook.id, gate


async def test_a_per_call_deadline_raises_deadline_exceeded(
    client: Client, start_receiver: StartReceiver
) -> None:
    hook_id, gate = await held_webhook(client, start_receiver)

    with pytest.raises(errors.DeadlineExceeded) as caught:
        await client.send_test(hook_id, [{"user_id": "u1"}], deadline=0.001)
    gate.set()
    assert caught.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert client.deadline == 10.0


async def test_the_client_deadline_applies_to_every_call_unless_overridden(
    server: Running, client: Client, start_receiver: StartReceiver
) -> None:
    hook_id, gate = await held_webhook(client, start_receiver)
    async with Client(server.address, (await server.api()).key, deadline=0.3) as hasty:
        started = time.monotonic()
        with pytest.raises(errors.DeadlineExceeded):
            await hasty.send_test(hook_id, [{"user_id": "u1"}])
        assert 0.3 <= time.monotonic() - started < 5

        asyncio.get_running_loop().call_later(0.6, gate.set)
        answered = await hasty.send_test(hook_id, [{"user_id": "u2"}], deadline=30)
    assert answered.messages[0].attempts[0].response.status_code == 200


async def test_a_nonpositive_deadline_is_refused(client: Client) -> None:
    with pytest.raises(ValueError, match="deadline"):
        await client.list(deadline=0)
