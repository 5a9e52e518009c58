"""Retry: one manual attempt of a finished message, never rescheduled; refused while pending."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from aiohttp import web

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.grpc_errors import expect_error
from tests.harness.history import create, message, send_one, wait_finished
from tests.harness.protos import recipients, struct
from tests.harness.receiver import Received
from tests.harness.server import Api, StartServer

SCHEDULE = (0.05, 0.05, 0.05)


@pytest.mark.parametrize(
    ("first_status", "attempts_before"),
    [
        # Retryable failures until the schedule ran out.
        (500, len(SCHEDULE) + 1),
        # A failure that is not retried, with the schedule left: only "manual" stops a retry.
        (400, 1),
    ],
)
async def test_a_failed_manual_retry_is_not_retried(
    api: Api, start_receiver, first_status: int, attempts_before: int
) -> None:
    def answer(_: Received, seen: int) -> web.Response:
        return web.Response(status=first_status if seen == 1 else 500, text=f"attempt {seen}")

    receiver = await start_receiver(answer)
    webhook = await create(api, receiver.url(), schedule=SCHEDULE)
    failed = await send_one(api, webhook)
    assert (failed.status, failed.attempt_count) == (pb.MESSAGE_STATUS_FAILED, attempts_before)
    assert len(receiver.received) == attempts_before

    retried = (await api.Retry(pb.RetryRequest(message_id=failed.id))).message
    assert retried.status == pb.MESSAGE_STATUS_PENDING
    await wait_finished(api, [failed.id])
    # Ten times the schedule's delay: a retry of the manual attempt would have come by now.
    await asyncio.sleep(0.5)

    assert len(receiver.received) == attempts_before + 1
    m = await message(api, failed.id)
    assert (m.status, m.attempt_count) == (pb.MESSAGE_STATUS_FAILED, attempts_before + 1)
    assert not m.HasField("next_attempt_time")
    assert m.response.body == f"attempt {attempts_before + 1}"
    assert [a.trigger for a in m.attempts] == [pb.ATTEMPT_TRIGGER_SCHEDULED] * attempts_before + [
        pb.ATTEMPT_TRIGGER_MANUAL
    ]


async def test_retry_of_a_pending_message_is_failed_precondition(
    start_server: StartServer, start_receiver
) -> None:
    # No workers: the message stays PENDING for as long as the test needs.
    server = await start_server(workers=0)
    api = await server.api()
    receiver = await start_receiver()
    webhook = await create(api, receiver.url())
    sent = await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(1), data=struct(text="x"))
    )
    mid = sent.message_ids[0]

    error = await expect_error(
        api.Retry(pb.RetryRequest(message_id=mid)), grpc.StatusCode.FAILED_PRECONDITION
    )
    assert "pending" in (error.details() or "")
    m = await message(api, mid)
    assert (m.status, m.attempt_count, list(m.attempts)) == (pb.MESSAGE_STATUS_PENDING, 0, [])
    assert receiver.received == []
