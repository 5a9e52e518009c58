"""Message methods of `hooksmith.Client` against a real server and a real receiver."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hooksmith import Client
from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.polling import wait_until
from tests.harness.receiver import StartReceiver

BODY = '{"user": "{{ userId }}", "phone": "{{ tags.phone }}", "text": "{{ text }}"}'


async def webhook(client: Client, url: str) -> pb.Webhook:
    return await client.create(
        {"name": "test", "url": url, "body": BODY, "policy": {"retry_schedule": ["0.05s"]}}
    )


async def finished(client: Client, message_ids: list[str]) -> list[pb.Message]:
    async def done() -> bool:
        messages = [await client.get_message(m) for m in message_ids]
        return all(m.status != pb.MESSAGE_STATUS_PENDING for m in messages)

    await wait_until(done, timeout=30)
    return [await client.get_message(m) for m in message_ids]


async def test_send_test_delivers_now_and_returns_each_message(
    client: Client, start_receiver: StartReceiver
) -> None:
    receiver = await start_receiver()
    hook = await webhook(client, receiver.url("/hook"))

    sent = await client.send_test(
        hook.id,
        [{"user_id": "u1", "tags": {"phone": "+1 555"}}, pb.Recipient(user_id="u2")],
        data={"text": "hi"},
    )

    assert [m.user_id for m in sent.messages] == ["u1", "u2"]
    assert {m.kind for m in sent.messages} == {pb.MESSAGE_KIND_TEST}
    assert [m.attempts[0].response.status_code for m in sent.messages] == [200, 200]
    # The recipients' requests go out concurrently, so they may arrive in either order.
    bodies = sorted((json.loads(r.body) for r in receiver.received), key=lambda b: b["user"])
    assert bodies == [
        {"user": "u1", "phone": "+1 555", "text": "hi"},
        {"user": "u2", "phone": "", "text": "hi"},
    ]


async def test_send_with_labels_and_idempotency_key_then_get_message_and_retry(
    client: Client, start_receiver: StartReceiver
) -> None:
    receiver = await start_receiver()
    hook = await webhook(client, receiver.url())

    sent = await client.send(
        hook.id,
        recipients=[{"user_id": "u1", "tags": {"phone": "1"}}, {"user_id": "u2"}],
        data={"text": "hello"},
        idempotency_key="run-7:step-2",
        labels={"journey": "j1"},
    )
    again = await client.send(
        hook.id,
        recipients=[{"user_id": "u1"}, {"user_id": "u2"}],
        data={"text": "hello"},
        idempotency_key="run-7:step-2",
    )

    assert len(sent.message_ids) == 2
    assert list(again.message_ids) == list(sent.message_ids)
    done = await finished(client, list(sent.message_ids))
    assert [m.status for m in done] == [pb.MESSAGE_STATUS_SUCCEEDED] * 2
    assert dict(done[0].labels) == {"journey": "j1"}
    assert len(receiver.received) == 2

    retried = await client.retry(sent.message_ids[0])

    assert retried.id == sent.message_ids[0]
    [after] = await finished(client, [retried.id])
    assert [a.trigger for a in after.attempts] == [
        pb.ATTEMPT_TRIGGER_SCHEDULED,
        pb.ATTEMPT_TRIGGER_MANUAL,
    ]
    assert len(receiver.received) == 3


async def test_list_history_filters_and_iter_history_walks_every_page(
    client: Client, start_receiver: StartReceiver
) -> None:
    receiver = await start_receiver()
    hook = await webhook(client, receiver.url())
    ours = await client.send(
        hook.id, [{"user_id": f"u{i}"} for i in range(5)], data={"text": "a"}, labels={"j": "1"}
    )
    theirs = await client.send(
        hook.id, [{"user_id": "other"}], data={"text": "b"}, labels={"j": "2"}
    )
    await finished(client, [*ours.message_ids, *theirs.message_ids])

    first = await client.list_history(webhook_id=hook.id, labels={"j": "1"}, page_size=2)
    walked = [m.id async for m in client.iter_history(labels={"j": "1"}, page_size=2)]
    everything = [m.id async for m in client.iter_history(webhook_id=hook.id, page_size=4)]
    by_user = [m.id async for m in client.iter_history(user_id="other")]
    succeeded = [
        m.id
        async for m in client.iter_history(
            statuses=[pb.MESSAGE_STATUS_SUCCEEDED], kind=pb.MESSAGE_KIND_LIVE, page_size=3
        )
    ]
    failed = [m.id async for m in client.iter_history(statuses=[pb.MESSAGE_STATUS_FAILED])]
    later = [
        m.id async for m in client.iter_history(start_time=datetime.now(UTC) + timedelta(hours=1))
    ]

    assert len(first.messages) == 2
    assert first.next_page_token
    assert sorted(walked) == sorted(ours.message_ids)
    assert len(everything) == 6
    assert set(everything) == {*ours.message_ids, *theirs.message_ids}
    assert by_user == list(theirs.message_ids)
    assert sorted(succeeded) == sorted(everything)
    assert failed == []
    assert later == []
