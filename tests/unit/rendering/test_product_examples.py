"""The two webhooks the product is built around, end to end through compile and render."""

from __future__ import annotations

import json

import pytest

from hooksmith_server import domain, errors

from .support import compile_spec, header, render, violations

SMS_BODY = (
    '{"to": "{{ tags.phone_number }}", '
    '"text": "Hi {{ tags.first_name | default(\'there\') }}, your code is {{ code }}"}'
)
COUPON_BODY = '{"user": "{{ userId }}", "text": "{{ text }}"}'


def test_sms_provider_needs_only_the_code_as_data() -> None:
    webhook = compile_spec(url="https://sms.example.com/v1/messages", body=SMS_BODY)

    assert webhook.data_fields == ("code",)


def test_sms_provider_renders_phone_name_and_code() -> None:
    webhook = compile_spec(
        url="https://sms.example.com/v1/messages",
        headers={"Authorization": "Bearer sk_live_0123456789"},
        body=SMS_BODY,
    )

    rendered = render(
        webhook,
        tags={"phone_number": "+82 10-1234-5678", "first_name": "Minji"},
        data={"code": 482913.0},
        require_data=True,
    )

    request = rendered.request
    assert request.method == "POST"
    assert request.url == "https://sms.example.com/v1/messages"
    assert request.headers == (
        domain.Header("Authorization", "Bearer sk_live_0123456789"),
        domain.Header("Content-Type", "application/json"),
    )
    assert request.body == '{"to":"+82 10-1234-5678","text":"Hi Minji, your code is 482913"}'
    assert rendered.missing_variables == ()


def test_sms_provider_greets_with_default_and_reports_missing_first_name() -> None:
    webhook = compile_spec(url="https://sms.example.com/v1/messages", body=SMS_BODY)

    rendered = render(webhook, tags={"phone_number": "+1 555 0100"}, data={"code": 7.0})

    assert json.loads(rendered.request.body)["text"] == "Hi there, your code is 7"
    assert rendered.missing_variables == ("tags.first_name",)


def test_sms_provider_refuses_to_send_without_the_code() -> None:
    webhook = compile_spec(url="https://sms.example.com/v1/messages", body=SMS_BODY)

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook, tags={"phone_number": "+1 555 0100"}, require_data=True)

    assert violations(error) == {"data.code": "data field 'code' is required by this webhook"}


def test_coupon_api_needs_only_the_text_as_data() -> None:
    webhook = compile_spec(url="https://api.example.com/coupons/{{ userId }}", body=COUPON_BODY)

    assert webhook.data_fields == ("text",)


def test_coupon_api_puts_the_user_id_in_path_and_body() -> None:
    webhook = compile_spec(url="https://api.example.com/coupons/{{ userId }}", body=COUPON_BODY)

    rendered = render(
        webhook, user_id="user 42/α", data={"text": "10% off today"}, require_data=True
    )

    assert rendered.request.url == "https://api.example.com/coupons/user%2042%2F%CE%B1"
    assert json.loads(rendered.request.body) == {"user": "user 42/α", "text": "10% off today"}
    assert rendered.request.body == '{"user":"user 42/α","text":"10% off today"}'
    assert header(rendered, "Content-Type") == "application/json"


def test_coupon_preview_without_data_lists_text_as_missing() -> None:
    webhook = compile_spec(url="https://api.example.com/coupons/{{ userId }}", body=COUPON_BODY)

    rendered = render(webhook, user_id="", require_data=False)

    assert rendered.missing_variables == ("text", "userId")
    assert rendered.request.url == "https://api.example.com/coupons/"
    assert json.loads(rendered.request.body) == {"user": "", "text": ""}
