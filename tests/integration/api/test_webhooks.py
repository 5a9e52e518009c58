"""Webhook CRUD, versions, archive and pagination over real gRPC and PostgreSQL."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import grpc
import pytest
from google.protobuf import duration_pb2, field_mask_pb2

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.grpc_errors import expect_error, expect_invalid
from tests.harness.server import Api

SMS_BODY = '{"to": "{{ tags.phone_number }}", "text": "{{ text }}"}'


def sms_spec(name: str = "SMS provider") -> pb.WebhookSpec:
    return pb.WebhookSpec(
        name=name,
        url="https://sms.example.com/v1/messages",
        headers=[pb.Header(name="X-Api-Key", value="k-123", secret=True)],
        body=SMS_BODY,
    )


async def test_create_returns_version_one_with_defaults_and_a_secret(api: Api) -> None:
    created = (await api.Create(pb.CreateRequest(spec=sms_spec()))).webhook

    assert created.id
    assert created.version == 1
    assert created.state == pb.WEBHOOK_STATE_ACTIVE
    assert created.spec.method == pb.HTTP_METHOD_POST
    assert created.spec.body_format == pb.BODY_FORMAT_JSON
    assert created.signing_secret.startswith("whsec_")
    assert list(created.data_fields) == ["text"]
    assert created.spec.headers[0].secret
    fetched = (await api.Get(pb.GetRequest(id=created.id))).webhook
    assert fetched == created


async def test_update_makes_new_versions_and_old_ones_stay_readable(api: Api) -> None:
    created = (await api.Create(pb.CreateRequest(spec=sms_spec()))).webhook
    new_spec = sms_spec()
    new_spec.url = "https://sms.example.com/v2/{{ region }}/messages"
    updated = (
        await api.Update(pb.UpdateRequest(id=created.id, spec=new_spec, expected_version=1))
    ).webhook

    assert updated.version == 2
    assert list(updated.data_fields) == ["region", "text"]
    v1 = (await api.Get(pb.GetRequest(id=created.id, version=1))).webhook
    assert v1.spec.url == "https://sms.example.com/v1/messages"
    assert list(v1.data_fields) == ["text"]
    latest = (await api.Get(pb.GetRequest(id=created.id))).webhook
    assert latest.version == 2
    assert latest.spec.url.endswith("/{{ region }}/messages")
    await expect_error(api.Get(pb.GetRequest(id=created.id, version=3)), grpc.StatusCode.NOT_FOUND)


async def test_stale_expected_version_is_aborted_and_changes_nothing(api: Api) -> None:
    created = (await api.Create(pb.CreateRequest(spec=sms_spec()))).webhook
    await api.Update(pb.UpdateRequest(id=created.id, spec=sms_spec("v2"), expected_version=1))

    await expect_error(
        api.Update(pb.UpdateRequest(id=created.id, spec=sms_spec("stale"), expected_version=1)),
        grpc.StatusCode.ABORTED,
    )
    latest = (await api.Get(pb.GetRequest(id=created.id))).webhook
    assert (latest.version, latest.spec.name) == (2, "v2")


async def test_update_mask_replaces_only_the_named_fields(api: Api) -> None:
    created = (await api.Create(pb.CreateRequest(spec=sms_spec()))).webhook
    patch = pb.WebhookSpec(
        name="renamed", url="https://ignored.example.com", policy=pb.DeliveryPolicy()
    )
    patch.policy.timeout.CopyFrom(duration_pb2.Duration(seconds=3))
    updated = (
        await api.Update(
            pb.UpdateRequest(
                id=created.id,
                spec=patch,
                update_mask=field_mask_pb2.FieldMask(paths=["name", "policy.timeout"]),
            )
        )
    ).webhook

    assert updated.spec.name == "renamed"
    assert updated.spec.url == "https://sms.example.com/v1/messages"
    assert updated.spec.body == SMS_BODY
    assert updated.spec.policy.timeout.seconds == 3
    await expect_invalid(
        api.Update(
            pb.UpdateRequest(
                id=created.id, spec=patch, update_mask=field_mask_pb2.FieldMask(paths=["nope"])
            )
        ),
        "update_mask",
        "nope",
    )


async def test_invalid_update_keeps_the_stored_version(api: Api) -> None:
    created = (await api.Create(pb.CreateRequest(spec=sms_spec()))).webhook
    broken = sms_spec()
    broken.body = '{"to": '
    await expect_invalid(api.Update(pb.UpdateRequest(id=created.id, spec=broken)), "spec.body")

    latest = (await api.Get(pb.GetRequest(id=created.id))).webhook
    assert latest.version == 1
    assert latest.spec.body == SMS_BODY


async def test_delete_archives_hides_from_list_and_blocks_updates(api: Api) -> None:
    kept = (await api.Create(pb.CreateRequest(spec=sms_spec("kept")))).webhook
    gone = (await api.Create(pb.CreateRequest(spec=sms_spec("gone")))).webhook

    archived = (await api.Delete(pb.DeleteRequest(id=gone.id))).webhook
    assert archived.state == pb.WEBHOOK_STATE_ARCHIVED
    assert (await api.Get(pb.GetRequest(id=gone.id))).webhook.state == pb.WEBHOOK_STATE_ARCHIVED
    active = (await api.List(pb.ListRequest())).webhooks
    assert [w.id for w in active] == [kept.id]
    everything = (await api.List(pb.ListRequest(show_archived=True))).webhooks
    assert {w.id for w in everything} == {kept.id, gone.id}
    await expect_error(
        api.Update(pb.UpdateRequest(id=gone.id, spec=sms_spec())),
        grpc.StatusCode.FAILED_PRECONDITION,
    )


async def test_list_pages_through_every_webhook_once_newest_first(api: Api) -> None:
    ids = [
        (await api.Create(pb.CreateRequest(spec=sms_spec(f"w{i}")))).webhook.id for i in range(7)
    ]

    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = await api.List(pb.ListRequest(page_size=3, page_token=token))
        seen += [w.id for w in page.webhooks]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert pages == 3
    assert seen == list(reversed(ids))


async def test_list_rejects_bad_page_tokens_and_negative_sizes(api: Api) -> None:
    await expect_invalid(api.List(pb.ListRequest(page_token="garbage!")), "page_token")
    await expect_invalid(api.List(pb.ListRequest(page_size=-1)), "page_size", "negative")


async def test_a_page_size_above_the_maximum_is_the_maximum(api: Api) -> None:
    for i in range(101):
        await api.Create(pb.CreateRequest(spec=sms_spec(f"w{i}")))
    page = await api.List(pb.ListRequest(page_size=500))
    assert len(page.webhooks) == 100
    assert page.next_page_token
    rest = await api.List(pb.ListRequest(page_size=500, page_token=page.next_page_token))
    assert len(rest.webhooks) == 1


async def test_unknown_and_malformed_ids(api: Api) -> None:
    await expect_error(
        api.Get(pb.GetRequest(id="0190a1b2-0000-7000-8000-000000000000")),
        grpc.StatusCode.NOT_FOUND,
    )
    await expect_error(
        api.Delete(pb.DeleteRequest(id="0190a1b2-0000-7000-8000-000000000000")),
        grpc.StatusCode.NOT_FOUND,
    )
    await expect_invalid(api.Get(pb.GetRequest(id="not-an-id")), "id")


async def test_spec_field_checks_name_the_field(api: Api) -> None:
    spec = sms_spec("")
    await expect_invalid(api.Create(pb.CreateRequest(spec=spec)), "spec.name", "required")
    spec = sms_spec()
    spec.policy.timeout.CopyFrom(duration_pb2.Duration(seconds=61))
    await expect_invalid(api.Create(pb.CreateRequest(spec=spec)), "spec.policy.timeout")
    spec = sms_spec()
    spec.policy.retry_schedule.append(duration_pb2.Duration(seconds=-1))
    await expect_invalid(api.Create(pb.CreateRequest(spec=spec)), "spec.policy.retry_schedule[0]")
    spec = sms_spec()
    spec.method = 42  # type: ignore[assignment]
    await expect_invalid(api.Create(pb.CreateRequest(spec=spec)), "spec.method")


@pytest.mark.parametrize("rate", [-1.0, 10_001.0, float("nan"), float("inf")])
async def test_a_rate_limit_out_of_range_names_the_field(api: Api, rate: float) -> None:
    spec = sms_spec()
    spec.policy.rate_limit = rate
    await expect_invalid(
        api.Create(pb.CreateRequest(spec=spec)), "spec.policy.rate_limit", "requests per second"
    )


async def test_a_rate_limit_is_kept_and_can_be_updated_alone(api: Api) -> None:
    spec = sms_spec()
    spec.policy.rate_limit = 0.5
    created = (await api.Create(pb.CreateRequest(spec=spec))).webhook
    assert created.spec.policy.rate_limit == 0.5
    change = pb.WebhookSpec(policy=pb.DeliveryPolicy(rate_limit=20))
    updated = (
        await api.Update(
            pb.UpdateRequest(
                id=created.id,
                spec=change,
                update_mask=field_mask_pb2.FieldMask(paths=["policy.rate_limit"]),
                expected_version=1,
            )
        )
    ).webhook
    assert updated.spec.policy.rate_limit == 20
    assert updated.spec.url == created.spec.url
    # No limit again: 0 on the wire.
    cleared = (
        await api.Update(
            pb.UpdateRequest(
                id=created.id,
                spec=pb.WebhookSpec(),
                update_mask=field_mask_pb2.FieldMask(paths=["policy.rate_limit"]),
                expected_version=2,
            )
        )
    ).webhook
    assert cleared.spec.policy.rate_limit == 0


async def test_rotate_secret_gives_a_new_current_secret(api: Api) -> None:
    created = (await api.Create(pb.CreateRequest(spec=sms_spec()))).webhook
    rotated = (await api.RotateSecret(pb.RotateSecretRequest(id=created.id))).webhook
    assert rotated.signing_secret.startswith("whsec_")
    assert rotated.signing_secret != created.signing_secret


async def test_durations_beyond_protobufs_range_name_the_field(api: Api) -> None:
    huge = duration_pb2.Duration(seconds=2**62)
    spec = sms_spec()
    spec.policy.timeout.CopyFrom(huge)
    await expect_invalid(api.Create(pb.CreateRequest(spec=spec)), "spec.policy.timeout", "duration")
    await expect_invalid(api.Render(pb.RenderRequest(draft=spec)), "draft.policy.timeout")
    spec = sms_spec()
    spec.policy.retry_schedule.extend([duration_pb2.Duration(seconds=60)] * 3 + [huge])
    await expect_invalid(
        api.Create(pb.CreateRequest(spec=spec)), "spec.policy.retry_schedule[3]", "duration"
    )
    created = (await api.Create(pb.CreateRequest(spec=sms_spec()))).webhook
    await expect_invalid(
        api.Update(pb.UpdateRequest(id=created.id, spec=spec)), "spec.policy.retry_schedule[3]"
    )
    spec = sms_spec()
    spec.policy.retry_schedule.append(duration_pb2.Duration(seconds=-(2**62)))
    await expect_invalid(api.Create(pb.CreateRequest(spec=spec)), "spec.policy.retry_schedule[0]")


def token(value: object) -> str:
    """A page token made the way the server makes them, holding anything."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


GOOD_TIME = "2024-05-01T12:00:00+00:00"
GOOD_ID = "0190a1b2-0000-7000-8000-000000000000"


@pytest.mark.parametrize(
    "forged",
    [
        {"t": GOOD_TIME, "id": 5},
        {"t": GOOD_TIME, "id": [GOOD_ID]},
        {"t": GOOD_TIME, "id": None},
        {"t": GOOD_TIME, "id": "not-a-uuid"},
        {"t": GOOD_TIME},
        {"t": "0001-01-01T00:00:00+14:00", "id": GOOD_ID},
        {"t": "9999-12-31T23:00:00-14:00", "id": GOOD_ID},
        {"t": "1969-12-31T23:59:59+00:00", "id": GOOD_ID},
        {"t": "2024-05-01T12:00:00", "id": GOOD_ID},
        {"t": 1714564800, "id": GOOD_ID},
        [GOOD_TIME, GOOD_ID],
        "text",
    ],
)
async def test_forged_page_tokens_are_invalid_argument(api: Api, forged: object) -> None:
    await expect_invalid(
        api.List(pb.ListRequest(page_token=token(forged))), "page_token", "is not a token"
    )


async def test_a_token_with_any_utc_offset_names_the_same_position(api: Api) -> None:
    ids = [
        (await api.Create(pb.CreateRequest(spec=sms_spec(f"w{i}")))).webhook.id for i in range(3)
    ]
    first = await api.List(pb.ListRequest(page_size=1))
    raw = first.next_page_token
    position = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    assert position["t"].endswith("+00:00")
    shifted = datetime.fromisoformat(position["t"]).astimezone(timezone(timedelta(hours=9)))
    same = token({"t": shifted.isoformat(), "id": position["id"]})
    rest = await api.List(pb.ListRequest(page_token=same))
    assert [w.id for w in rest.webhooks] == [ids[1], ids[0]]


async def test_versions_beyond_postgres_integer_name_the_field(api: Api) -> None:
    created = (await api.Create(pb.CreateRequest(spec=sms_spec()))).webhook
    too_big = 2**31
    await expect_invalid(api.Get(pb.GetRequest(id=created.id, version=too_big)), "version")
    await expect_invalid(api.Get(pb.GetRequest(id=created.id, version=-1)), "version")
    await expect_invalid(
        api.Render(pb.RenderRequest(webhook_id=created.id, version=too_big)), "version"
    )
    await expect_invalid(
        api.Update(pb.UpdateRequest(id=created.id, spec=sms_spec(), expected_version=too_big)),
        "expected_version",
    )
    await expect_error(
        api.Get(pb.GetRequest(id=created.id, version=too_big - 1)), grpc.StatusCode.NOT_FOUND
    )
    await expect_error(
        api.Update(pb.UpdateRequest(id=created.id, spec=sms_spec(), expected_version=too_big - 1)),
        grpc.StatusCode.ABORTED,
    )


async def test_forged_page_tokens_are_invalid_not_internal(api: Api) -> None:
    deep = base64.urlsafe_b64encode(b"[" * 400).decode()
    await expect_invalid(api.List(pb.ListRequest(page_token=deep)), "page_token")
    await expect_invalid(api.List(pb.ListRequest(page_token="A" * 600)), "page_token")


async def test_errors_quoting_huge_input_still_arrive_as_invalid_argument(api: Api) -> None:
    spec = sms_spec()
    spec.headers.append(pb.Header(name="x y" * 6000, value="v"))
    description = await expect_invalid(
        api.Create(pb.CreateRequest(spec=spec)), "spec.headers[1].name"
    )
    assert len(description) <= 300
    await expect_invalid(
        api.Update(
            pb.UpdateRequest(
                id="0190a1b2-0000-7000-8000-000000000000",
                spec=sms_spec(),
                update_mask=field_mask_pb2.FieldMask(paths=["p" * 17000]),
            )
        ),
        "update_mask",
    )


async def test_json_numbers_too_large_for_json_are_refused(api: Api) -> None:
    spec = sms_spec()
    spec.body = '{"n": 1e400}'
    await expect_invalid(api.Create(pb.CreateRequest(spec=spec)), "spec.body", "too large")
