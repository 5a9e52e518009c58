"""RetryFailed: a manual attempt of every failed live message of a webhook in a window."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import grpc
from aiohttp import web
from google.protobuf import timestamp_pb2

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.grpc_errors import expect_error, expect_invalid
from tests.harness.history import all_history, create, wait_finished
from tests.harness.protos import recipients, struct
from tests.harness.receiver import Received
from tests.harness.server import Api, Running


class Switch:
    """A receiver that refuses requests (400: not retried) while down, 200 once up."""

    def __init__(self) -> None:
        self.down = True

    def answer(self, _: Received, __: int) -> web.Response:
        return web.Response(status=400 if self.down else 200, text="down" if self.down else "ok")


def ts(value: datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(value)
    return out


async def send(api: Api, webhook: pb.Webhook, users: list[str]) -> list[str]:
    sent = await api.Send(
        pb.SendRequest(
            webhook_id=webhook.id,
            recipients=[pb.Recipient(user_id=u) for u in users],
            data=struct(text="x"),
        )
    )
    ids = list(sent.message_ids)
    await wait_finished(api, ids)
    return ids


async def statuses(api: Api, ids: list[str]) -> dict[str, pb.MessageStatus.ValueType]:
    found = {}
    for mid in ids:
        found[mid] = (await api.GetMessage(pb.GetMessageRequest(id=mid))).message.status
    return found


async def test_failed_messages_in_the_window_are_retried_once_and_nothing_else(
    api: Api, start_receiver
) -> None:
    switch = Switch()
    receiver = await start_receiver(switch.answer)
    webhook = await create(api, receiver.url("/a"), schedule=(0.05,))
    other = await create(api, receiver.url("/b"), schedule=(0.05,))

    before = await send(api, webhook, ["early-1", "early-2"])
    await asyncio.sleep(0.05)
    start = datetime.now(UTC)
    inside = await send(api, webhook, ["in-1", "in-2", "in-3", "gone"])
    other_inside = await send(api, other, ["b-1"])
    test = await api.SendTest(
        pb.SendTestRequest(
            webhook_id=webhook.id, recipients=recipients(1, "tester"), data=struct(text="x")
        )
    )
    assert test.messages[0].status == pb.MESSAGE_STATUS_FAILED
    switch.down = False
    succeeded = await send(api, webhook, ["happy"])
    switch.down = True
    purged = await api.PurgeUser(pb.PurgeUserRequest(user_id="gone"))
    assert purged.purged_messages == 1
    await asyncio.sleep(0.05)
    end = datetime.now(UTC)
    await asyncio.sleep(0.05)
    after = await send(api, webhook, ["late-1"])
    assert set((await statuses(api, before + inside + after)).values()) == {
        pb.MESSAGE_STATUS_FAILED
    }
    requests_before = len(receiver.received)

    switch.down = False
    retried = await api.RetryFailed(
        pb.RetryFailedRequest(
            webhook_id=webhook.id, start_time=ts(start), end_time=ts(end), request_id="outage-1"
        )
    )
    assert retried.retried_messages == 3

    retried_ids = inside[:3]
    await wait_finished(api, retried_ids)
    assert set((await statuses(api, retried_ids)).values()) == {pb.MESSAGE_STATUS_SUCCEEDED}
    # Outside the window, purged, the other webhook's, the test send: still failed.
    left = before + after + [inside[3]] + other_inside + [test.messages[0].id]
    assert set((await statuses(api, left)).values()) == {pb.MESSAGE_STATUS_FAILED}
    assert (await statuses(api, succeeded)) == {succeeded[0]: pb.MESSAGE_STATUS_SUCCEEDED}
    assert len(receiver.received) == requests_before + 3
    history = await all_history(api, webhook_id=webhook.id)
    manual = [m for m in history if m.id in retried_ids]
    assert all(m.attempt_count == 2 for m in manual)

    # The same request id: the first answer, and nothing queued.
    again = await api.RetryFailed(
        pb.RetryFailedRequest(
            webhook_id=webhook.id, start_time=ts(start), end_time=ts(end), request_id="outage-1"
        )
    )
    assert again.retried_messages == 3
    # Without one: nothing is failed any more in the window.
    fresh = await api.RetryFailed(
        pb.RetryFailedRequest(webhook_id=webhook.id, start_time=ts(start), end_time=ts(end))
    )
    assert fresh.retried_messages == 0
    await asyncio.sleep(0.5)
    assert len(receiver.received) == requests_before + 3
    assert all(
        m.attempt_count == 2
        for m in await all_history(api, webhook_id=webhook.id)
        if m.id in retried_ids
    )
    # The id names the call: another window with it still returns the first answer.
    wider = await api.RetryFailed(
        pb.RetryFailedRequest(
            webhook_id=webhook.id,
            start_time=ts(start),
            end_time=ts(datetime.now(UTC)),
            request_id="outage-1",
        )
    )
    assert wider.retried_messages == 3
    assert set((await statuses(api, after)).values()) == {pb.MESSAGE_STATUS_FAILED}


async def test_a_thousand_failed_messages_are_requeued_in_one_call(
    api: Api, start_receiver
) -> None:
    switch = Switch()
    receiver = await start_receiver(switch.answer)
    webhook = await create(api, receiver.url(), schedule=(0.05,))
    start = datetime.now(UTC)
    ids = await send(api, webhook, [f"u-{i}" for i in range(1000)])
    end = datetime.now(UTC) + timedelta(seconds=1)
    switch.down = False
    retried = await api.RetryFailed(
        pb.RetryFailedRequest(webhook_id=webhook.id, start_time=ts(start), end_time=ts(end))
    )
    assert retried.retried_messages == 1000
    await wait_finished(api, ids, timeout=120.0)
    done = await all_history(api, webhook_id=webhook.id, statuses=[pb.MESSAGE_STATUS_SUCCEEDED])
    assert len(done) == 1000


async def test_the_window_is_checked(api: Api) -> None:
    now = datetime.now(UTC)
    hook = pb.RetryFailedRequest(webhook_id="01930000-0000-7000-8000-000000000000")
    missing_end = pb.RetryFailedRequest(webhook_id=hook.webhook_id, start_time=ts(now))
    await expect_invalid(api.RetryFailed(missing_end), "end_time", "required")
    missing_start = pb.RetryFailedRequest(webhook_id=hook.webhook_id, end_time=ts(now))
    await expect_invalid(api.RetryFailed(missing_start), "start_time", "required")
    backwards = pb.RetryFailedRequest(
        webhook_id=hook.webhook_id, start_time=ts(now), end_time=ts(now - timedelta(hours=1))
    )
    await expect_invalid(api.RetryFailed(backwards), "end_time", "after start_time")
    too_long = pb.RetryFailedRequest(
        webhook_id=hook.webhook_id,
        start_time=ts(now - timedelta(days=32)),
        end_time=ts(now),
    )
    await expect_invalid(api.RetryFailed(too_long), "end_time", "31 days")
    window = {"start_time": ts(now - timedelta(hours=1)), "end_time": ts(now)}
    await expect_invalid(
        api.RetryFailed(pb.RetryFailedRequest(webhook_id="nope", **window)), "webhook_id"
    )
    await expect_error(
        api.RetryFailed(pb.RetryFailedRequest(webhook_id=hook.webhook_id, **window)),
        grpc.StatusCode.NOT_FOUND,
    )


async def test_archived_webhooks_and_journey_keys_are_refused(
    server: Running, api: Api, start_receiver
) -> None:
    receiver = await start_receiver()
    webhook = await create(api, receiver.url())
    now = datetime.now(UTC)
    request = pb.RetryFailedRequest(
        webhook_id=webhook.id, start_time=ts(now - timedelta(hours=1)), end_time=ts(now)
    )
    journey = await server.api(scope="journey")
    await expect_error(journey.RetryFailed(request), grpc.StatusCode.PERMISSION_DENIED)
    await api.Delete(pb.DeleteRequest(id=webhook.id))
    error = await expect_error(api.RetryFailed(request), grpc.StatusCode.FAILED_PRECONDITION)
    assert "archived" in (error.details() or "")
