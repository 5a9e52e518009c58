"""Render over gRPC: saved and draft specs, the seed examples, limits and syntax errors."""

from __future__ import annotations

import json

import grpc
import pytest
from google.protobuf import struct_pb2

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.grpc_errors import expect_error, expect_invalid, violations
from tests.harness.protos import struct
from tests.harness.server import Api

SMS = pb.WebhookSpec(
    name="SMS provider",
    url="https://sms.example.com/v1/messages",
    headers=[pb.Header(name="Authorization", value="Bearer sk_live_1234", secret=True)],
    body='{"to": "{{ tags.phone_number }}", "text": "{{ text }}"}',
)
COUPON = pb.WebhookSpec(
    name="Issue coupon",
    url="https://api.example.com/coupons/{{ userId }}",
    body='{"user": "{{ userId }}", "text": "{{ text }}", "amount": 10}',
)


def header(request: pb.HttpRequest, name: str) -> str:
    (value,) = [h.value for h in request.headers if h.name.lower() == name.lower()]
    return value


async def test_sms_example_renders_saved_webhook(api: Api) -> None:
    made = (await api.Create(pb.CreateRequest(spec=SMS))).webhook
    out = await api.Render(
        pb.RenderRequest(
            webhook_id=made.id,
            recipient=pb.Recipient(user_id="u1", tags=struct(phone_number="+821012345678")),
            data=struct(text="Your code is 1234"),
        )
    )

    assert out.request.method == "POST"
    assert out.request.url == "https://sms.example.com/v1/messages"
    assert json.loads(out.request.body) == {"to": "+821012345678", "text": "Your code is 1234"}
    assert header(out.request, "Content-Type") == "application/json"
    assert list(out.missing_variables) == []
    assert list(out.data_fields) == ["text"]


async def test_coupon_example_renders_a_draft_and_encodes_the_user_id_in_the_url(api: Api) -> None:
    out = await api.Render(
        pb.RenderRequest(
            draft=COUPON,
            recipient=pb.Recipient(user_id="a/b?c"),
            data=struct(text="10% off"),
        )
    )
    assert out.request.url == "https://api.example.com/coupons/a%2Fb%3Fc"
    assert json.loads(out.request.body) == {"user": "a/b?c", "text": "10% off", "amount": 10}
    assert list(out.data_fields) == ["text"]


async def test_render_lists_missing_variables_and_renders_them_empty(api: Api) -> None:
    out = await api.Render(pb.RenderRequest(draft=SMS, recipient=pb.Recipient(user_id="u1")))
    assert list(out.missing_variables) == ["tags.phone_number", "text"]
    assert json.loads(out.request.body) == {"to": "", "text": ""}


async def test_render_of_an_older_version(api: Api) -> None:
    made = (await api.Create(pb.CreateRequest(spec=SMS))).webhook
    await api.Update(pb.UpdateRequest(id=made.id, spec=COUPON))
    old = await api.Render(pb.RenderRequest(webhook_id=made.id, version=1))
    new = await api.Render(pb.RenderRequest(webhook_id=made.id))
    assert old.request.url == "https://sms.example.com/v1/messages"
    assert new.request.url == "https://api.example.com/coupons/"


async def test_injection_through_a_tag_stays_one_json_string(api: Api) -> None:
    evil = 'a","admin":true,"x":"'
    out = await api.Render(
        pb.RenderRequest(
            draft=SMS, recipient=pb.Recipient(tags=struct(phone_number=evil)), data=struct(text="t")
        )
    )
    body = json.loads(out.request.body)
    assert body == {"to": evil, "text": "t"}


async def test_whole_numbers_render_without_a_fraction(api: Api) -> None:
    spec = pb.WebhookSpec(
        name="n", url="https://x.example.com/{{ tags.age }}", body='{"age": "{{ tags.age }}"}'
    )
    out = await api.Render(
        pb.RenderRequest(draft=spec, recipient=pb.Recipient(tags=struct(age=30)))
    )
    assert out.request.url == "https://x.example.com/30"
    assert json.loads(out.request.body) == {"age": "30"}


async def test_header_value_with_a_newline_is_refused(api: Api) -> None:
    spec = pb.WebhookSpec(
        name="h",
        url="https://x.example.com",
        headers=[pb.Header(name="X-User", value="{{ tags.n }}")],
    )
    await expect_invalid(
        api.Render(
            pb.RenderRequest(draft=spec, recipient=pb.Recipient(tags=struct(n="a\r\nX-Admin: 1")))
        ),
        "headers[0].value",
        "control character",
    )


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"body": '{"to": "x",\n  "text" "y"}'}, "body", "line 2"),
        ({"body": '{"to": "{{ tags.phone_number }"}'}, "body", "line 1"),
        ({"url": "https://x.example.com/{% if %}"}, "url", "line 1"),
        ({"url": "ftp://x.example.com/"}, "url", "http"),
        ({"url": "{{ base }}/path"}, "url", "http"),
        ({"body": "{% include 'other' %}", "body_format": pb.BODY_FORMAT_TEXT}, "body", "include"),
        ({"body": "{% extends 'base' %}", "body_format": pb.BODY_FORMAT_TEXT}, "body", "extend"),
        ({"body": "{% import 'm' as m %}", "body_format": pb.BODY_FORMAT_TEXT}, "body", "import"),
        (
            {"body": "{{ x | nosuchfilter }}", "body_format": pb.BODY_FORMAT_TEXT},
            "body",
            "no filter named 'nosuchfilter'",
        ),
        ({"body": "x" * 70_000, "body_format": pb.BODY_FORMAT_TEXT}, "body", "65,536"),
    ],
)
async def test_bad_templates_name_the_field(
    api: Api, change: dict[str, object], field: str, fragment: str
) -> None:
    spec = pb.WebhookSpec()
    spec.CopyFrom(SMS)
    for key, value in change.items():
        setattr(spec, key, value)
    await expect_invalid(api.Create(pb.CreateRequest(spec=spec)), f"spec.{field}", fragment)
    await expect_invalid(api.Render(pb.RenderRequest(draft=spec)), f"draft.{field}", fragment)


async def test_header_errors_name_the_header(api: Api) -> None:
    spec = pb.WebhookSpec(
        name="h",
        url="https://x.example.com",
        headers=[
            pb.Header(name="X-Ok", value="1"),
            pb.Header(name="X-Two", value="2"),
            pb.Header(name="X-Bad", value="{{ oops }"),
        ],
    )
    await expect_invalid(api.Create(pb.CreateRequest(spec=spec)), "spec.headers[2].value", "line 1")
    spec = pb.WebhookSpec(
        name="h", url="https://x.example.com", headers=[pb.Header(name="Bad Name", value="1")]
    )
    await expect_invalid(api.Create(pb.CreateRequest(spec=spec)), "spec.headers[0].name")
    for reserved in ("Host", "content-length", "Webhook-Signature"):
        spec = pb.WebhookSpec(
            name="h", url="https://x.example.com", headers=[pb.Header(name=reserved, value="1")]
        )
        await expect_invalid(
            api.Create(pb.CreateRequest(spec=spec)), "spec.headers[0].name", "set by Hooksmith"
        )
    spec = pb.WebhookSpec(
        name="h",
        url="https://x.example.com",
        headers=[pb.Header(name=f"X-{i}", value="v") for i in range(51)],
    )
    await expect_invalid(api.Create(pb.CreateRequest(spec=spec)), "spec.headers", "50")
    spec = pb.WebhookSpec(
        name="h", url="https://x.example.com", headers=[pb.Header(name="X-Big", value="v" * 9000)]
    )
    await expect_invalid(api.Create(pb.CreateRequest(spec=spec)), "spec.headers[0].value")


async def test_rendered_size_limit(api: Api) -> None:
    spec = pb.WebhookSpec(
        name="big",
        url="https://x.example.com",
        body_format=pb.BODY_FORMAT_TEXT,
        body=(
            "{% for i in range(1000) %}{% for j in range(200) %}0123456789{% endfor %}{% endfor %}"
        ),
    )
    error = await expect_error(
        api.Render(pb.RenderRequest(draft=spec)), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert "limit" in " ".join(violations(error).values())


async def test_unstorable_values_are_refused_naming_the_field(api: Api) -> None:
    tags = struct_pb2.Struct()
    tags.update({"nested": {"bad": float("nan")}})
    await expect_invalid(
        api.Render(pb.RenderRequest(draft=SMS, recipient=pb.Recipient(tags=tags))),
        "recipient.tags.nested.bad",
        "finite",
    )
    spec = pb.WebhookSpec()
    spec.CopyFrom(SMS)
    spec.headers.append(pb.Header(name="X-Nul", value="a\x00b"))
    await expect_invalid(api.Create(pb.CreateRequest(spec=spec)), "spec.headers[1].value", "NUL")
    assert (await api.List(pb.ListRequest())).webhooks == []


async def test_a_lone_surrogate_is_invalid_argument_naming_the_field(api: Api) -> None:
    lone = "{{ '\\ud800' }}"
    cases = [
        (pb.WebhookSpec(name="u", url="https://x.example.com/" + lone), "url", 22),
        (
            pb.WebhookSpec(
                name="h", url="https://x.example.com", headers=[pb.Header(name="X-A", value=lone)]
            ),
            "headers[0].value",
            0,
        ),
        # JSON reads `\\ud800` as `\ud800`, which Jinja then reads as the surrogate.
        (
            pb.WebhookSpec(
                name="b", url="https://x.example.com", body='{"a": "{{ \'\\\\ud800\' }}"}'
            ),
            "body",
            6,
        ),
    ]
    for spec, field, position in cases:
        made = (await api.Create(pb.CreateRequest(spec=spec))).webhook
        for request in (pb.RenderRequest(draft=spec), pb.RenderRequest(webhook_id=made.id)):
            description = await expect_invalid(api.Render(request), field)
            assert description == (
                f"rendered text is not valid Unicode (lone surrogate at position {position})"
            )


async def test_a_user_id_cannot_be_a_dot_segment_of_the_url(api: Api) -> None:
    made = (await api.Create(pb.CreateRequest(spec=COUPON))).webhook
    urls = []
    for user_id in ("..", ".", "a/b"):
        out = await api.Render(
            pb.RenderRequest(webhook_id=made.id, recipient=pb.Recipient(user_id=user_id))
        )
        urls.append(out.request.url)
    assert urls == [
        "https://api.example.com/coupons/%2E%2E",
        "https://api.example.com/coupons/%2E",
        "https://api.example.com/coupons/a%2Fb",
    ]


async def test_a_url_the_sender_would_read_differently_is_refused(api: Api) -> None:
    spec = pb.WebhookSpec(name="b", url="http://evil.example.com\\@api.example.com/hook")
    await expect_invalid(
        api.Create(pb.CreateRequest(spec=spec)), "spec.url", "the URL contains a backslash"
    )
    spec.url = "https://[::1]x/{{ userId }}"
    await expect_invalid(api.Render(pb.RenderRequest(draft=spec)), "url", "cannot be parsed")


async def test_a_draft_without_a_name_renders_but_cannot_be_saved(api: Api) -> None:
    draft = pb.WebhookSpec(url="https://x.example.com/{{ userId }}", body='{"t": "{{ text }}"}')
    out = await api.Render(
        pb.RenderRequest(draft=draft, recipient=pb.Recipient(user_id="u-1"), data=struct(text="hi"))
    )
    assert out.request.url == "https://x.example.com/u-1"
    assert json.loads(out.request.body) == {"t": "hi"}
    await expect_invalid(api.Create(pb.CreateRequest(spec=draft)), "spec.name", "required")
