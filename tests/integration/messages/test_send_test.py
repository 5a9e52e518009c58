"""SendTest: one attempt now, the exact request and response shown and kept."""

from __future__ import annotations

import json

import grpc
from aiohttp import web

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.grpc_errors import expect_error, expect_invalid
from tests.harness.history import create
from tests.harness.protos import struct
from tests.harness.receiver import Received
from tests.harness.server import Api


async def test_send_test_returns_the_request_the_receiver_saw_and_its_response(
    api: Api, start_receiver
) -> None:
    def answer(_: Received, __: int) -> web.Response:
        return web.json_response({"coupon": "SAVE10"}, status=201, headers={"X-Trace": "t-1"})

    receiver = await start_receiver(answer)
    webhook = await create(
        api,
        receiver.url("/coupons/{{ userId }}?src=hooksmith"),
        headers=(pb.Header(name="X-Campaign", value="{{ tags.campaign }}"),),
    )
    out = await api.SendTest(
        pb.SendTestRequest(
            webhook_id=webhook.id,
            recipients=[pb.Recipient(user_id="u/1", tags=struct(campaign="winter"))],
            data=struct(text="hello"),
        )
    )

    (message,) = out.messages
    (seen,) = receiver.received
    assert message.kind == pb.MESSAGE_KIND_TEST
    assert message.status == pb.MESSAGE_STATUS_SUCCEEDED
    assert message.attempt_count == 1
    assert len(message.attempts) == 1
    request = message.attempts[0].request
    assert request == message.request
    assert request.method == seen.method == "POST"
    assert request.url == receiver.url(seen.path_qs)
    assert seen.path_qs == "/coupons/u%2F1?src=hooksmith"
    assert request.body.encode() == seen.body
    assert json.loads(seen.body) == {"user": "u/1", "text": "hello"}
    for header in request.headers:
        assert seen.header(header.name) == header.value, header.name
    assert seen.header("webhook-id") == message.id
    assert seen.header("X-Campaign") == "winter"
    response = message.attempts[0].response
    assert response.status_code == 201
    assert json.loads(response.body) == {"coupon": "SAVE10"}
    assert ("X-Trace", "t-1") in [(h.name, h.value) for h in response.headers]

    stored = (await api.GetMessage(pb.GetMessageRequest(id=message.id))).message
    assert stored == message


async def test_a_failing_receiver_gives_a_failed_test_message_with_the_body(
    api: Api, start_receiver
) -> None:
    receiver = await start_receiver(lambda _, __: web.Response(status=500, text="database on fire"))
    webhook = await create(api, receiver.url())
    out = await api.SendTest(
        pb.SendTestRequest(
            webhook_id=webhook.id, recipients=[pb.Recipient(user_id="u1")], data=struct(text="x")
        )
    )
    (message,) = out.messages
    assert message.status == pb.MESSAGE_STATUS_FAILED
    assert message.response.status_code == 500
    assert message.response.body == "database on fire"
    assert "500" in message.error
    assert len(receiver.received) == 1


async def test_missing_data_field_is_refused_before_anything_is_sent(
    api: Api, start_receiver
) -> None:
    receiver = await start_receiver()
    webhook = await create(api, receiver.url())
    await expect_invalid(
        api.SendTest(pb.SendTestRequest(webhook_id=webhook.id, recipients=[pb.Recipient()])),
        "data.text",
        "required",
    )
    await expect_invalid(
        api.Send(pb.SendRequest(webhook_id=webhook.id, recipients=[pb.Recipient()])),
        "data.text",
    )
    assert receiver.received == []
    history = await api.ListHistory(pb.ListHistoryRequest(webhook_id=webhook.id))
    assert list(history.messages) == []


async def test_recipient_limits(api: Api, start_receiver) -> None:
    receiver = await start_receiver()
    webhook = await create(api, receiver.url())
    many = [pb.Recipient(user_id=str(i)) for i in range(21)]
    await expect_invalid(
        api.SendTest(
            pb.SendTestRequest(webhook_id=webhook.id, recipients=many, data=struct(text="x"))
        ),
        "recipients",
        "20",
    )
    too_many = [pb.Recipient(user_id=str(i)) for i in range(1001)]
    await expect_invalid(
        api.Send(pb.SendRequest(webhook_id=webhook.id, recipients=too_many, data=struct(text="x"))),
        "recipients",
        "1,000",
    )
    await expect_invalid(
        api.Send(pb.SendRequest(webhook_id=webhook.id, data=struct(text="x"))), "recipients"
    )
    assert receiver.received == []


async def test_archived_webhooks_cannot_be_sent(api: Api, start_receiver) -> None:
    receiver = await start_receiver()
    webhook = await create(api, receiver.url())
    await api.Delete(pb.DeleteRequest(id=webhook.id))
    request = {"webhook_id": webhook.id, "recipients": [pb.Recipient()], "data": struct(text="x")}
    await expect_error(
        api.SendTest(pb.SendTestRequest(**request)), grpc.StatusCode.FAILED_PRECONDITION
    )
    await expect_error(api.Send(pb.SendRequest(**request)), grpc.StatusCode.FAILED_PRECONDITION)
    assert receiver.received == []


async def test_secret_headers_are_masked_in_history(api: Api, start_receiver) -> None:
    receiver = await start_receiver()
    webhook = await create(
        api,
        receiver.url(),
        headers=(
            pb.Header(name="Authorization", value="Bearer sk_live_abcdefgh12345678"),
            pb.Header(name="X-Api-Key", value="key-0123456789abcdef", secret=True),
            pb.Header(name="X-Plain", value="visible"),
        ),
    )
    out = await api.SendTest(
        pb.SendTestRequest(
            webhook_id=webhook.id, recipients=[pb.Recipient()], data=struct(text="x")
        )
    )
    (seen,) = receiver.received
    assert seen.header("Authorization") == "Bearer sk_live_abcdefgh12345678"
    shown = {h.name: h.value for h in out.messages[0].request.headers}
    assert "sk_live_abcdefgh" not in shown["Authorization"]
    assert shown["Authorization"].endswith("5678")
    assert "0123456789ab" not in shown["X-Api-Key"]
    assert shown["X-Plain"] == "visible"
