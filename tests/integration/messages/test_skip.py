"""Skipping a user: `{% skip %}` ends a message SKIPPED with its reason, nothing sent."""

from __future__ import annotations

import json

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.history import all_history, wait_none_pending
from tests.harness.protos import struct
from tests.harness.server import Api

SKIPPING_SMS = pb.WebhookSpec(
    name="SMS provider",
    template_language=pb.TEMPLATE_LANGUAGE_LIQUID,
    body=(
        '{"to": "{% unless tags.phone_number %}{% skip \\"no phone number\\" %}'
        '{% endunless %}{{ tags.phone_number }}", "text": "{{ text | upcase }}"}'
    ),
)


def half_with_phones(n: int) -> list[pb.Recipient]:
    return [
        pb.Recipient(user_id=f"user-{i}", tags=struct(phone_number=f"+8210{i:08d}"))
        if i % 2 == 0
        else pb.Recipient(user_id=f"user-{i}")
        for i in range(n)
    ]


async def test_a_thousand_users_half_without_a_phone_make_500_requests_and_500_skips(
    api: Api, start_receiver
) -> None:
    receiver = await start_receiver()
    spec = pb.WebhookSpec()
    spec.CopyFrom(SKIPPING_SMS)
    spec.url = receiver.url()
    webhook = (await api.Create(pb.CreateRequest(spec=spec))).webhook
    assert webhook.spec.template_language == pb.TEMPLATE_LANGUAGE_LIQUID
    assert list(webhook.data_fields) == ["text"]

    sent = await api.Send(
        pb.SendRequest(
            webhook_id=webhook.id, recipients=half_with_phones(1000), data=struct(text="hi")
        )
    )
    await wait_none_pending(api, webhook.id)

    ids = list(sent.message_ids)
    by_id = receiver.by_id()
    assert set(by_id) == {ids[i] for i in range(0, 1000, 2)}
    assert all(len(requests) == 1 for requests in by_id.values())
    assert json.loads(by_id[ids[4]][0].body) == {"to": "+821000000004", "text": "HI"}

    skipped = await all_history(api, webhook_id=webhook.id, statuses=[pb.MESSAGE_STATUS_SKIPPED])
    assert {m.id for m in skipped} == {ids[i] for i in range(1, 1000, 2)}
    assert {m.error for m in skipped} == {"no phone number"}
    assert all(not m.request.url and m.response.status_code == 0 for m in skipped)
    succeeded = await all_history(
        api, webhook_id=webhook.id, statuses=[pb.MESSAGE_STATUS_SUCCEEDED]
    )
    assert len(succeeded) == 500
    failed = await all_history(api, webhook_id=webhook.id, statuses=[pb.MESSAGE_STATUS_FAILED])
    assert failed == []


async def test_render_shows_the_skip_and_its_reason(api: Api) -> None:
    spec = pb.WebhookSpec()
    spec.CopyFrom(SKIPPING_SMS)
    spec.url = "https://sms.example.com/v1/messages"
    skipped = await api.Render(
        pb.RenderRequest(draft=spec, recipient=pb.Recipient(user_id="u1"), data=struct(text="x"))
    )
    assert skipped.skipped
    assert skipped.skip_reason == "no phone number"
    assert skipped.request.body == ""
    assert list(skipped.data_fields) == ["text"]

    sent = await api.Render(
        pb.RenderRequest(
            draft=spec,
            recipient=pb.Recipient(user_id="u1", tags=struct(phone_number="+8210")),
            data=struct(text="x"),
        )
    )
    assert not sent.skipped
    assert sent.skip_reason == ""
    assert json.loads(sent.request.body) == {"to": "+8210", "text": "X"}


async def test_send_test_reports_a_skipped_recipient_without_a_request(
    api: Api, start_receiver
) -> None:
    receiver = await start_receiver()
    spec = pb.WebhookSpec(
        name="jinja skip",
        url=receiver.url() + "/{% if not tags.phone_number %}{% skip 'no phone' %}{% endif %}x",
        body='{"text": "{{ userId }}"}',
    )
    webhook = (await api.Create(pb.CreateRequest(spec=spec))).webhook
    out = await api.SendTest(
        pb.SendTestRequest(
            webhook_id=webhook.id,
            recipients=[
                pb.Recipient(user_id="a"),
                pb.Recipient(user_id="b", tags=struct(phone_number="1")),
            ],
        )
    )
    assert [m.status for m in out.messages] == [
        pb.MESSAGE_STATUS_SKIPPED,
        pb.MESSAGE_STATUS_SUCCEEDED,
    ]
    assert out.messages[0].error == "no phone"
    assert [json.loads(r.body) for r in receiver.received] == [{"text": "b"}]
