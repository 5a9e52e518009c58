"""Send: durable messages, retries by the schedule, idempotency and history."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import grpc
from aiohttp import web
from google.protobuf import timestamp_pb2
from standardwebhooks.webhooks import Webhook as Verifier

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.grpc_errors import expect_error, expect_invalid
from tests.harness.history import (
    all_history,
    create,
    message,
    send_one,
    wait_finished,
    wait_none_pending,
)
from tests.harness.protos import recipients, struct
from tests.harness.receiver import Received
from tests.harness.server import Api


async def test_thousand_recipients_each_failing_twice_all_succeed_on_the_third_attempt(
    api: Api, start_receiver
) -> None:
    def flaky(_: Received, seen: int) -> web.Response:
        return web.Response(status=503 if seen <= 2 else 200, text=f"try {seen}")

    receiver = await start_receiver(flaky)
    # A timeout far above any answer: an attempt cut by it on a busy machine would be a
    # fourth attempt, or one the receiver never saw, and the counts below exact.
    webhook = await create(api, receiver.url(), timeout=60.0, schedule=(0.05, 0.05, 0.05))
    sent = await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(1000), data=struct(text="hi"))
    )
    assert len(sent.message_ids) == len(set(sent.message_ids)) == 1000
    await wait_none_pending(api, webhook.id)

    by_id = receiver.by_id()
    assert set(by_id) == set(sent.message_ids)
    assert Counter(len(requests) for requests in by_id.values()) == {3: 1000}
    history = await all_history(api, webhook_id=webhook.id)
    assert len(history) == 1000
    assert {m.status for m in history} == {pb.MESSAGE_STATUS_SUCCEEDED}
    assert {m.attempt_count for m in history} == {3}
    sample = await message(api, sent.message_ids[500])
    assert [a.number for a in sample.attempts] == [1, 2, 3]
    assert [a.response.status_code for a in sample.attempts] == [503, 503, 200]
    assert all(a.trigger == pb.ATTEMPT_TRIGGER_SCHEDULED for a in sample.attempts)
    assert json.loads(by_id[sample.id][0].body) == {"user": "user-500", "text": "hi"}


async def test_send_returns_ids_in_recipient_order_and_pins_the_version(
    api: Api, start_receiver
) -> None:
    gate = asyncio.Event()

    async def held(_: Received, __: int) -> web.Response:
        await gate.wait()
        return web.Response(text="ok")

    receiver = await start_receiver(held)
    webhook = await create(api, receiver.url())
    sent = await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(3), data=struct(text="v1"))
    )
    spec = pb.WebhookSpec()
    spec.CopyFrom(webhook.spec)
    spec.body = '{"changed": "{{ text }}"}'
    await api.Update(pb.UpdateRequest(id=webhook.id, spec=spec))
    gate.set()
    await wait_finished(api, list(sent.message_ids))

    for i, mid in enumerate(sent.message_ids):
        m = await message(api, mid)
        assert m.user_id == f"user-{i}"
        assert m.webhook_version == 1
        assert json.loads(m.request.body) == {"user": f"user-{i}", "text": "v1"}


async def test_client_error_fails_after_one_attempt(api: Api, start_receiver) -> None:
    receiver = await start_receiver(lambda _, __: web.Response(status=400, text="bad phone"))
    webhook = await create(api, receiver.url())
    m = await send_one(api, webhook)
    assert m.status == pb.MESSAGE_STATUS_FAILED
    assert m.attempt_count == 1
    assert m.response.body == "bad phone"
    await asyncio.sleep(0.3)
    assert len(receiver.received) == 1


async def test_redirect_is_a_failure_and_never_followed(api: Api, start_receiver) -> None:
    target = await start_receiver()
    receiver = await start_receiver(
        lambda _, __: web.Response(status=302, headers={"Location": target.url("/elsewhere")})
    )
    webhook = await create(api, receiver.url())
    m = await send_one(api, webhook)
    assert m.status == pb.MESSAGE_STATUS_FAILED
    assert m.attempt_count == 1
    assert m.response.status_code == 302
    assert target.url("/elsewhere") in m.error
    assert ("Location", target.url("/elsewhere")) in [(h.name, h.value) for h in m.response.headers]
    assert target.received == []


async def test_retry_after_is_waited_for(api: Api, start_receiver) -> None:
    def limited(_: Received, seen: int) -> web.Response:
        if seen == 1:
            return web.Response(status=429, headers={"Retry-After": "1"})
        return web.Response(text="ok")

    receiver = await start_receiver(limited)
    # Scheduled 0.6 s; Retry-After 1 s lies within [0.6, 1.2] and is honoured as is.
    webhook = await create(api, receiver.url(), schedule=(0.6,))
    m = await send_one(api, webhook)
    assert m.status == pb.MESSAGE_STATUS_SUCCEEDED
    first, second = receiver.received
    assert second.time - first.time >= 1.0
    assert m.attempts[0].response.status_code == 429


async def test_exhausted_schedule_fails_with_the_last_response(api: Api, start_receiver) -> None:
    receiver = await start_receiver(
        lambda _, seen: web.Response(status=500, text=f"attempt {seen}")
    )
    webhook = await create(api, receiver.url(), schedule=(0.05, 0.05))
    m = await send_one(api, webhook)
    assert m.status == pb.MESSAGE_STATUS_FAILED
    assert m.attempt_count == 3
    assert m.response.body == "attempt 3"
    assert "500" in m.error
    assert len(receiver.received) == 3


async def test_idempotent_send_repeated_concurrently_makes_one_message_per_user(
    api: Api, start_receiver
) -> None:
    receiver = await start_receiver()
    webhook = await create(api, receiver.url())
    users = recipients(50)
    calls = [
        api.Send(
            pb.SendRequest(
                webhook_id=webhook.id,
                recipients=users,
                data=struct(text="x"),
                idempotency_key="run-7:step-3",
            )
        )
        for _ in range(8)
    ]
    results = await asyncio.gather(*calls)
    first = list(results[0].message_ids)
    assert len(set(first)) == 50
    assert all(list(r.message_ids) == first for r in results)
    await wait_none_pending(api, webhook.id)
    assert len(await all_history(api, webhook_id=webhook.id)) == 50
    assert len(receiver.received) == 50

    again = await api.Send(
        pb.SendRequest(
            webhook_id=webhook.id,
            recipients=users[:2] + recipients(1, "new"),
            data=struct(text="x"),
            idempotency_key="run-7:step-3",
        )
    )
    assert list(again.message_ids[:2]) == first[:2]
    assert again.message_ids[2] not in first
    plain = await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=users[:1], data=struct(text="x"))
    )
    assert plain.message_ids[0] not in first


async def test_history_filters_and_pages(api: Api, start_receiver) -> None:
    receiver = await start_receiver(
        lambda r, _: web.Response(status=400 if b"fail" in r.body else 200)
    )
    webhook = await create(api, receiver.url())
    other = await create(api, receiver.url())
    ok = await api.Send(
        pb.SendRequest(
            webhook_id=webhook.id,
            recipients=recipients(5),
            data=struct(text="fine"),
            labels={"journey_id": "j1", "step_id": "s1"},
        )
    )
    bad = await api.Send(
        pb.SendRequest(
            webhook_id=webhook.id,
            recipients=recipients(3, "bad"),
            data=struct(text="fail"),
            labels={"journey_id": "j2"},
        )
    )
    await api.SendTest(
        pb.SendTestRequest(webhook_id=other.id, recipients=recipients(1), data=struct(text="x"))
    )
    await wait_none_pending(api, webhook.id)

    succeeded = await all_history(
        api, webhook_id=webhook.id, statuses=[pb.MESSAGE_STATUS_SUCCEEDED]
    )
    assert {m.id for m in succeeded} == set(ok.message_ids)
    failed = await all_history(api, statuses=[pb.MESSAGE_STATUS_FAILED])
    assert {m.id for m in failed} == set(bad.message_ids)
    tests = await all_history(api, kind=pb.MESSAGE_KIND_TEST)
    assert [m.webhook_id for m in tests] == [other.id]
    assert len(await all_history(api, kind=pb.MESSAGE_KIND_LIVE)) == 8
    by_user = await all_history(api, user_id="bad-1")
    assert [m.id for m in by_user] == [bad.message_ids[1]]
    labelled = await all_history(api, labels={"journey_id": "j1"})
    assert {m.id for m in labelled} == set(ok.message_ids)
    assert dict(labelled[0].labels) == {"journey_id": "j1", "step_id": "s1"}
    future = timestamp_pb2.Timestamp()
    future.FromDatetime(datetime.now(UTC) + timedelta(minutes=1))
    assert await all_history(api, start_time=future) == []
    assert len(await all_history(api, end_time=future)) == 9

    pages: list[str] = []
    token = ""
    while True:
        page = await api.ListHistory(pb.ListHistoryRequest(page_size=2, page_token=token))
        pages += [m.id for m in page.messages]
        token = page.next_page_token
        if not token:
            break
    assert len(pages) == len(set(pages)) == 9
    newest_first = [m.create_time.ToDatetime() for m in await all_history(api)]
    assert newest_first == sorted(newest_first, reverse=True)


async def test_retry_resends_finished_messages_as_manual_attempts(api: Api, start_receiver) -> None:
    receiver = await start_receiver(lambda _, seen: web.Response(status=400 if seen == 1 else 200))
    webhook = await create(api, receiver.url())
    sent = await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(1), data=struct(text="x"))
    )
    mid = sent.message_ids[0]
    await wait_finished(api, [mid])
    assert (await message(api, mid)).status == pb.MESSAGE_STATUS_FAILED

    retried = (await api.Retry(pb.RetryRequest(message_id=mid))).message
    assert retried.status == pb.MESSAGE_STATUS_PENDING
    await wait_finished(api, [mid])
    m = await message(api, mid)
    assert m.status == pb.MESSAGE_STATUS_SUCCEEDED
    assert [a.trigger for a in m.attempts] == [
        pb.ATTEMPT_TRIGGER_SCHEDULED,
        pb.ATTEMPT_TRIGGER_MANUAL,
    ]
    await api.Retry(pb.RetryRequest(message_id=mid))
    await wait_finished(api, [mid])
    assert (await message(api, mid)).attempt_count == 3
    assert len(receiver.received) == 3
    await expect_error(
        api.Retry(pb.RetryRequest(message_id="0190a1b2-0000-7000-8000-000000000000")),
        grpc.StatusCode.NOT_FOUND,
    )


async def test_signatures_verify_including_during_rotation(api: Api, start_receiver) -> None:
    receiver = await start_receiver()
    webhook = await create(api, receiver.url())
    first = await api.SendTest(
        pb.SendTestRequest(webhook_id=webhook.id, recipients=recipients(2), data=struct(text="a"))
    )
    rotated = (await api.RotateSecret(pb.RotateSecretRequest(id=webhook.id))).webhook
    second = await api.SendTest(
        pb.SendTestRequest(webhook_id=webhook.id, recipients=recipients(2), data=struct(text="b"))
    )
    assert all(m.status == pb.MESSAGE_STATUS_SUCCEEDED for m in [*first.messages, *second.messages])

    def verify(secret: str, request: Received) -> dict[str, object]:
        headers = dict(request.headers)
        return Verifier(secret).verify(request.body, headers)  # type: ignore[no-any-return]

    before, after = receiver.received[:2], receiver.received[2:]
    for request in before:
        verify(webhook.signing_secret, request)
    for request in after:
        assert len((request.header("webhook-signature") or "").split(" ")) == 2
        verify(webhook.signing_secret, request)
        verify(rotated.signing_secret, request)


async def test_workspaces_cannot_read_or_send_each_others_messages(server, start_receiver) -> None:
    acme = await server.api("acme")
    globex = await server.api("globex")
    receiver = await start_receiver()
    webhook = await create(acme, receiver.url())
    sent = await acme.SendTest(
        pb.SendTestRequest(webhook_id=webhook.id, recipients=recipients(1), data=struct(text="x"))
    )
    mid = sent.messages[0].id
    await expect_error(globex.GetMessage(pb.GetMessageRequest(id=mid)), grpc.StatusCode.NOT_FOUND)
    await expect_error(globex.Retry(pb.RetryRequest(message_id=mid)), grpc.StatusCode.NOT_FOUND)
    await expect_error(
        globex.Send(
            pb.SendRequest(webhook_id=webhook.id, recipients=recipients(1), data=struct(text="x"))
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert (await globex.ListHistory(pb.ListHistoryRequest())).messages == []


async def test_journey_keys_may_send_but_not_test_or_read_history(server, start_receiver) -> None:
    console = await server.api("acme", "console")
    journey = await server.api("acme", "journey")
    receiver = await start_receiver()
    webhook = await create(console, receiver.url())
    sent = await journey.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(1), data=struct(text="x"))
    )
    assert len(sent.message_ids) == 1
    for call in (
        journey.SendTest(pb.SendTestRequest(webhook_id=webhook.id, recipients=recipients(1))),
        journey.ListHistory(pb.ListHistoryRequest()),
        journey.GetMessage(pb.GetMessageRequest(id=sent.message_ids[0])),
        journey.Retry(pb.RetryRequest(message_id=sent.message_ids[0])),
    ):
        await expect_error(call, grpc.StatusCode.PERMISSION_DENIED)


async def test_history_pages_stay_stable_while_messages_arrive(api: Api, start_receiver) -> None:
    receiver = await start_receiver()
    webhook = await create(api, receiver.url())
    first = await api.SendTest(
        pb.SendTestRequest(webhook_id=webhook.id, recipients=recipients(6), data=struct(text="x"))
    )
    page = await api.ListHistory(pb.ListHistoryRequest(page_size=4))
    seen = [m.id for m in page.messages]
    # New messages arrive between pages; they are newer than the cursor and do not
    # shift what the next page holds.
    await api.SendTest(
        pb.SendTestRequest(webhook_id=webhook.id, recipients=recipients(5), data=struct(text="y"))
    )
    rest = await api.ListHistory(
        pb.ListHistoryRequest(page_size=4, page_token=page.next_page_token)
    )
    seen += [m.id for m in rest.messages]
    assert rest.next_page_token == ""
    assert sorted(seen) == sorted(m.id for m in first.messages)


async def test_nul_characters_in_labels_and_data_are_refused(api: Api, start_receiver) -> None:
    receiver = await start_receiver()
    webhook = await create(api, receiver.url())
    await expect_invalid(
        api.Send(
            pb.SendRequest(
                webhook_id=webhook.id,
                recipients=recipients(1),
                data=struct(text="x"),
                labels={"journey": "a\x00"},
            )
        ),
        "labels['journey']",
    )
    await expect_invalid(
        api.Send(
            pb.SendRequest(
                webhook_id=webhook.id, recipients=recipients(1), data=struct(text="\x00")
            )
        ),
        "data.text",
    )
    far = timestamp_pb2.Timestamp(seconds=10**12)
    await expect_invalid(api.ListHistory(pb.ListHistoryRequest(start_time=far)), "start_time")
    assert await all_history(api) == []
