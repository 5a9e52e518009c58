"""WebhookSpec.capture: named values of a 2xx JSON response kept on the message."""

from __future__ import annotations

import json

from aiohttp import web

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.grpc_errors import expect_invalid
from tests.harness.history import all_history, message, wait_finished
from tests.harness.protos import recipients, seconds, struct
from tests.harness.receiver import Behaviour, Received, StartReceiver
from tests.harness.server import Api

COUPON = {
    "data": {
        "code": "SPRING-2K4Q",
        "amount": 5,
        "free_shipping": True,
        "expires": None,
        "rules": {"min": 20, "sku": ["a", "b"]},
        "a/b": "slash",
        "m~n": "tilde",
        "list": ["zero", "one"],
    }
}
CAPTURES = [
    pb.Capture(name="coupon_code", pointer="/data/code"),
    pb.Capture(name="amount", pointer="/data/amount"),
    pb.Capture(name="free_shipping", pointer="/data/free_shipping"),
    pb.Capture(name="expires", pointer="/data/expires"),
    pb.Capture(name="rules", pointer="/data/rules"),
    pb.Capture(name="slash", pointer="/data/a~1b"),
    pb.Capture(name="tilde", pointer="/data/m~0n"),
    pb.Capture(name="second", pointer="/data/list/1"),
    pb.Capture(name="absent", pointer="/data/nothing/here"),
    pb.Capture(name="past_the_end", pointer="/data/list/2"),
]


def answering(status: int, body: str, content_type: str = "application/json") -> Behaviour:
    def behave(_: Received, __: int) -> web.StreamResponse:
        return web.Response(status=status, text=body, content_type=content_type)

    return behave


async def capturing(api: Api, url: str, captures: list[pb.Capture]) -> pb.Webhook:
    spec = pb.WebhookSpec(
        name="coupons",
        url=url,
        body='{"user": "{{ userId }}"}',
        capture=captures,
        policy=pb.DeliveryPolicy(timeout=seconds(5), retry_schedule=[seconds(0.05)]),
    )
    return (await api.Create(pb.CreateRequest(spec=spec))).webhook


async def test_a_coupon_code_from_a_2xx_json_body_is_kept_on_the_message(
    api: Api, start_receiver: StartReceiver
) -> None:
    receiver = await start_receiver(answering(201, json.dumps(COUPON)))
    webhook = await capturing(api, receiver.url("/coupons"), CAPTURES)
    assert list(webhook.spec.capture) == CAPTURES

    sent = await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(1), data=struct())
    )
    await wait_finished(api, list(sent.message_ids))

    got = await message(api, sent.message_ids[0])
    assert got.status == pb.MESSAGE_STATUS_SUCCEEDED
    assert dict(got.captured) == {
        "coupon_code": "SPRING-2K4Q",
        "amount": "5",
        "free_shipping": "true",
        "expires": "null",
        "rules": '{"min":20,"sku":["a","b"]}',
        "slash": "slash",
        "tilde": "tilde",
        "second": "one",
    }
    [listed] = await all_history(api, webhook_id=webhook.id)
    assert dict(listed.captured) == dict(got.captured)


async def test_send_test_shows_what_it_captured(api: Api, start_receiver: StartReceiver) -> None:
    receiver = await start_receiver(answering(200, json.dumps(COUPON)))
    webhook = await capturing(api, receiver.url(), CAPTURES[:1])

    answer = await api.SendTest(
        pb.SendTestRequest(webhook_id=webhook.id, recipients=recipients(1), data=struct())
    )

    assert dict(answer.messages[0].captured) == {"coupon_code": "SPRING-2K4Q"}


async def test_a_failed_or_non_json_response_captures_nothing(
    api: Api, start_receiver: StartReceiver
) -> None:
    cases = [
        answering(500, json.dumps(COUPON)),
        answering(404, json.dumps(COUPON)),
        answering(200, "SPRING-2K4Q", "text/plain"),
        answering(200, '{"data": {"code": "cut'),
        answering(200, '{"data": {"code": NaN}}'),
    ]
    for behaviour in cases:
        receiver = await start_receiver(behaviour)
        webhook = await capturing(api, receiver.url(), CAPTURES[:1])
        answer = await api.SendTest(
            pb.SendTestRequest(webhook_id=webhook.id, recipients=recipients(1), data=struct())
        )
        assert answer.messages[0].status in (pb.MESSAGE_STATUS_FAILED, pb.MESSAGE_STATUS_SUCCEEDED)
        assert dict(answer.messages[0].captured) == {}


async def test_a_value_over_1_kib_is_left_out(api: Api, start_receiver: StartReceiver) -> None:
    body = {"short": "é" * 512, "long": "é" * 513, "big": list(range(400))}
    receiver = await start_receiver(answering(200, json.dumps(body)))
    webhook = await capturing(
        api,
        receiver.url(),
        [
            pb.Capture(name="short", pointer="/short"),
            pb.Capture(name="long", pointer="/long"),
            pb.Capture(name="big", pointer="/big"),
        ],
    )

    answer = await api.SendTest(
        pb.SendTestRequest(webhook_id=webhook.id, recipients=recipients(1), data=struct())
    )

    # 512 two-byte characters are exactly 1 KiB; one more, or a long array, is left out.
    assert dict(answer.messages[0].captured) == {"short": "é" * 512}


async def test_a_later_attempt_replaces_what_an_earlier_one_captured(
    api: Api, start_receiver: StartReceiver
) -> None:
    answers = iter([json.dumps(COUPON), "not json"])

    def behave(_: Received, __: int) -> web.StreamResponse:
        return web.Response(status=200, text=next(answers), content_type="application/json")

    receiver = await start_receiver(behave)
    webhook = await capturing(api, receiver.url(), CAPTURES[:1])
    answer = await api.SendTest(
        pb.SendTestRequest(webhook_id=webhook.id, recipients=recipients(1), data=struct())
    )
    message_id = answer.messages[0].id
    assert dict(answer.messages[0].captured) == {"coupon_code": "SPRING-2K4Q"}

    await api.Retry(pb.RetryRequest(message_id=message_id))
    await wait_finished(api, [message_id])
    assert len(receiver.received) == 2

    assert dict((await message(api, message_id)).captured) == {}


async def test_bad_captures_are_refused_naming_the_field(api: Api) -> None:
    def spec(*captures: pb.Capture) -> pb.CreateRequest:
        return pb.CreateRequest(
            spec=pb.WebhookSpec(name="n", url="https://x.example.com", capture=list(captures))
        )

    ok = pb.Capture(name="code", pointer="/code")
    await expect_invalid(
        api.Create(spec(pb.Capture(name="1code", pointer="/code"))),
        "spec.capture[0].name",
        "letter",
    )
    await expect_invalid(
        api.Create(spec(pb.Capture(name="x" * 65, pointer="/code"))),
        "spec.capture[0].name",
        "64",
    )
    await expect_invalid(
        api.Create(spec(pb.Capture(name="co-de", pointer="/code"))), "spec.capture[0].name"
    )
    await expect_invalid(api.Create(spec(ok, ok)), "spec.capture[1].name", "twice")
    await expect_invalid(
        api.Create(spec(pb.Capture(name="code", pointer="data/code"))),
        "spec.capture[0].pointer",
        "RFC 6901",
    )
    await expect_invalid(
        api.Create(spec(pb.Capture(name="code", pointer="/data/~2"))),
        "spec.capture[0].pointer",
        "~0",
    )
    await expect_invalid(
        api.Create(spec(pb.Capture(name="code", pointer=""))), "spec.capture[0].pointer"
    )
    many = [pb.Capture(name=f"c{i}", pointer=f"/{i}") for i in range(21)]
    await expect_invalid(api.Create(spec(*many)), "spec.capture", "at most 20")


async def test_capture_is_replaced_by_update_with_its_mask(api: Api) -> None:
    created = await api.Create(
        pb.CreateRequest(spec=pb.WebhookSpec(name="n", url="https://x.example.com"))
    )
    updated = await api.Update(
        pb.UpdateRequest(
            id=created.webhook.id,
            spec=pb.WebhookSpec(capture=[pb.Capture(name="code", pointer="/code")]),
            update_mask={"paths": ["capture"]},
        )
    )

    assert [c.name for c in updated.webhook.spec.capture] == ["code"]
    assert updated.webhook.spec.name == "n"


async def test_purge_user_erases_captured_values(api: Api, start_receiver: StartReceiver) -> None:
    receiver = await start_receiver(answering(200, json.dumps(COUPON)))
    webhook = await capturing(api, receiver.url(), CAPTURES[:1])
    answer = await api.SendTest(
        pb.SendTestRequest(
            webhook_id=webhook.id, recipients=[pb.Recipient(user_id="erase-me")], data=struct()
        )
    )
    assert dict(answer.messages[0].captured) == {"coupon_code": "SPRING-2K4Q"}

    await api.PurgeUser(pb.PurgeUserRequest(user_id="erase-me"))

    assert dict((await message(api, answer.messages[0].id)).captured) == {}
