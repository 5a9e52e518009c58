"""UNAVAILABLE is retried for calls safe to repeat, and only for those."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hooksmith import Client, SyncClient, _client, errors
from tests.integration.client.fake_service import FakeService, serving


@pytest.fixture
async def fake() -> AsyncIterator[FakeService]:
    async with serving() as service:
        yield service


async def test_reads_are_retried_by_the_channel(fake: FakeService) -> None:
    fake.failures["Get"] = 2
    async with Client(f"127.0.0.1:{fake.port}", "k") as client:
        webhook = await client.get("wh_1")

    assert webhook.id == "wh_1"
    assert fake.calls["Get"] == 3


async def test_reads_give_up_after_five_attempts(fake: FakeService) -> None:
    fake.failures["Get"] = 10
    async with Client(f"127.0.0.1:{fake.port}", "k") as client:
        with pytest.raises(errors.Unavailable):
            await client.get("wh_1")

    assert fake.calls["Get"] == 5


async def test_create_is_not_retried(fake: FakeService) -> None:
    fake.failures["Create"] = 1
    async with Client(f"127.0.0.1:{fake.port}", "k") as client:
        with pytest.raises(errors.Unavailable):
            await client.create({"name": "a"})

    assert fake.calls["Create"] == 1


async def test_send_is_retried_only_with_an_idempotency_key(fake: FakeService) -> None:
    async with Client(f"127.0.0.1:{fake.port}", "k") as client:
        fake.failures["Send"] = 1
        with pytest.raises(errors.Unavailable):
            await client.send("wh_1", [{"user_id": "u1"}])
        assert fake.calls["Send"] == 1

        fake.failures["Send"] = 2
        sent = await client.send("wh_1", [{"user_id": "u1"}], idempotency_key="run-1")

    assert list(sent.message_ids) == ["msg_u1"]
    assert fake.calls["Send"] == 4


async def test_an_idempotent_send_stops_retrying_at_the_deadline(
    fake: FakeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fixed delays make the count exact: calls at 0 s and 0.1 s; a third at 0.2 s would
    # start past the 0.15 s deadline, so the second failure is the answer.
    monkeypatch.setattr(_client, "send_backoffs", lambda: iter([0.1] * 4))
    fake.failures["Send"] = 100
    async with Client(f"127.0.0.1:{fake.port}", "k") as client:
        with pytest.raises(errors.Unavailable):
            await client.send("wh_1", [{"user_id": "u1"}], idempotency_key="x", deadline=0.15)

    assert fake.calls["Send"] == 2


async def test_the_sync_client_retries_the_same_calls(fake: FakeService) -> None:
    fake.failures.update({"Get": 2, "Create": 1, "Send": 3})

    def scenario() -> tuple[str, type[BaseException], list[str]]:
        with SyncClient(f"127.0.0.1:{fake.port}", "k") as client:
            webhook = client.get("wh_9")
            with pytest.raises(errors.Unavailable) as caught:
                client.create({"name": "a"})
            with pytest.raises(errors.Unavailable):
                client.send("wh_9", [{"user_id": "u"}])
            sent = client.send("wh_9", [{"user_id": "u"}], idempotency_key="k")
            return webhook.id, caught.type, list(sent.message_ids)

    webhook_id, created_error, sent_ids = await asyncio.to_thread(scenario)

    assert webhook_id == "wh_9"
    assert created_error is errors.Unavailable
    assert sent_ids == ["msg_u"]
    assert fake.calls == {"Get": 3, "Create": 1, "Send": 4}
