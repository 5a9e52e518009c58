"""Webhook methods of `hooksmith.Client` against a real server."""

from __future__ import annotations

import pytest
from google.protobuf import field_mask_pb2

from hooksmith import Client
from hooksmith.v1 import webhooks_pb2 as pb

SMS = {
    "name": "SMS provider",
    "url": "https://sms.example.com/v1/messages",
    "headers": [{"name": "Authorization", "value": "Bearer sk_live_123", "secret": True}],
    "body": '{"to": "{{ tags.phone_number }}", "text": "{{ text }}"}',
    "policy": {"timeout": "5s", "retry_schedule": ["1s", "30s"]},
}


async def test_create_takes_a_dict_spec_and_get_returns_the_same_webhook(client: Client) -> None:
    created = await client.create(SMS)

    assert isinstance(created, pb.Webhook)
    assert created.version == 1
    assert created.spec.name == "SMS provider"
    assert created.spec.headers[0] == pb.Header(
        name="Authorization", value="Bearer sk_live_123", secret=True
    )
    assert created.spec.policy.timeout.seconds == 5
    assert [d.seconds for d in created.spec.policy.retry_schedule] == [1, 30]
    assert list(created.data_fields) == ["text"]
    assert created.signing_secret.startswith("whsec_")
    assert await client.get(created.id) == created


async def test_create_takes_a_proto_spec(client: Client) -> None:
    spec = pb.WebhookSpec(name="coupon", url="https://api.example.com/{{ userId }}", body="{}")

    created = await client.create(spec)

    assert created.spec.url == "https://api.example.com/{{ userId }}"
    assert created.spec.method == pb.HTTP_METHOD_POST


async def test_update_with_a_mask_and_expected_version_keeps_older_versions(
    client: Client,
) -> None:
    created = await client.create(SMS)

    updated = await client.update(
        created.id,
        {"url": "https://sms.example.com/v2/{{ region }}", "name": "ignored by the mask"},
        update_mask=["url"],
        expected_version=1,
    )

    assert updated.version == 2
    assert updated.spec.url == "https://sms.example.com/v2/{{ region }}"
    assert updated.spec.name == "SMS provider"
    assert list(updated.data_fields) == ["region", "text"]
    assert (await client.get(created.id, version=1)).spec.url == SMS["url"]
    again = await client.update(
        created.id, pb.WebhookSpec(name="x"), update_mask=field_mask_pb2.FieldMask(paths=["name"])
    )
    assert (again.version, again.spec.name) == (3, "x")


async def test_update_mask_refuses_a_bare_string(client: Client) -> None:
    with pytest.raises(TypeError, match="list of paths"):
        await client.update("whatever", SMS, update_mask="url")


async def test_rotate_secret_and_delete(client: Client) -> None:
    created = await client.create(SMS)

    rotated = await client.rotate_secret(created.id)
    deleted = await client.delete(created.id)

    assert rotated.signing_secret.startswith("whsec_")
    assert rotated.signing_secret != created.signing_secret
    assert deleted.state == pb.WEBHOOK_STATE_ARCHIVED
    assert (await client.get(created.id)).state == pb.WEBHOOK_STATE_ARCHIVED


async def test_render_a_saved_webhook_with_dict_recipient_and_data(client: Client) -> None:
    created = await client.create(SMS)

    rendered = await client.render(
        created.id,
        recipient={"user_id": "u-42", "tags": {"phone_number": "+821012345678"}},
        data={"text": "Your code is 1234"},
    )

    assert rendered.request.method == "POST"
    assert rendered.request.url == "https://sms.example.com/v1/messages"
    assert rendered.request.body == '{"to":"+821012345678","text":"Your code is 1234"}'
    assert list(rendered.missing_variables) == []


async def test_render_a_draft_lists_missing_variables(client: Client) -> None:
    rendered = await client.render(
        draft={"name": "d", "url": "https://x.example.com/{{ userId }}", "body": "{}"},
        recipient=pb.Recipient(user_id="u 1"),
    )
    missing = await client.render(
        draft=SMS, recipient={"user_id": "u1"}, data={"text": "hi"}, version=0
    )

    assert rendered.request.url == "https://x.example.com/u%201"
    assert list(missing.missing_variables) == ["tags.phone_number"]


async def test_render_needs_exactly_one_source(client: Client) -> None:
    with pytest.raises(ValueError, match="either a webhook_id or a draft"):
        await client.render()
    with pytest.raises(ValueError, match="either a webhook_id or a draft"):
        await client.render("id", draft=SMS)


async def test_list_pages_and_iter_webhooks_walks_every_page(client: Client) -> None:
    made = [(await client.create({**SMS, "name": f"hook {i}"})).id for i in range(7)]
    archived = await client.delete(made[0])

    first = await client.list(page_size=3)
    walked = [w.id async for w in client.iter_webhooks(page_size=3)]
    with_archived = [w.id async for w in client.iter_webhooks(page_size=2, show_archived=True)]

    assert [w.id for w in first.webhooks] == made[::-1][:3]
    assert first.next_page_token
    second = await client.list(page_size=3, page_token=first.next_page_token)
    assert [w.id for w in second.webhooks] == made[::-1][3:6]
    assert walked == made[:0:-1]
    assert archived.id not in walked
    assert with_archived == made[::-1]
