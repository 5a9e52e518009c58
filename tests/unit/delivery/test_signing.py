"""Standard Webhooks signatures, checked against the reference `standardwebhooks` package."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from hooksmith_server.delivery import signing

MSG_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
BODY = '{"event":"order.created","name":"Zoë ✓"}'


def as_dict(headers: tuple[signing.domain.Header, ...]) -> dict[str, str]:
    return {h.name: h.value for h in headers}


def test_new_secret_is_prefixed_base64_of_32_random_bytes() -> None:
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert signing.new_secret() != secret


def test_signature_equals_the_reference_implementation() -> None:
    secret = signing.new_secret()
    timestamp = 1_700_000_000
    expected = Webhook(secret).sign(MSG_ID, datetime.fromtimestamp(timestamp, UTC), BODY)
    assert signing.signature(secret, MSG_ID, timestamp, BODY) == expected


def test_signed_headers_verify_with_the_reference_verifier() -> None:
    secret = signing.new_secret()
    headers = signing.signed_headers([secret], MSG_ID, int(time.time()), BODY)
    assert [h.name for h in headers] == ["webhook-id", "webhook-timestamp", "webhook-signature"]
    assert Webhook(secret).verify(BODY.encode(), as_dict(headers)) == json.loads(BODY)


def test_each_secret_of_a_rotation_verifies_the_multi_signature_header() -> None:
    old, new = signing.new_secret(), signing.new_secret()
    headers = as_dict(signing.signed_headers([old, new], MSG_ID, int(time.time()), BODY))
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(BODY, headers)
    Webhook(new).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(BODY, headers)


def test_tampered_body_does_not_verify() -> None:
    secret = signing.new_secret()
    headers = as_dict(signing.signed_headers([secret], MSG_ID, int(time.time()), BODY))
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace("created", "deleted"), headers)


def test_secret_prefix_and_padding_are_optional() -> None:
    key = base64.b64encode(b"k" * 31).decode()  # 31 bytes: the base64 ends in "="
    assert key.endswith("=")
    expected = signing.signature("whsec_" + key, MSG_ID, 1, BODY)
    assert signing.signature(key, MSG_ID, 1, BODY) == expected
    assert signing.signature("whsec_" + key.rstrip("="), MSG_ID, 1, BODY) == expected


@pytest.mark.parametrize("secret", ["whsec_not base64!", "whsec_", ""])
def test_invalid_secret_is_a_value_error(secret: str) -> None:
    with pytest.raises(ValueError, match="signing secret"):
        signing.signature(secret, MSG_ID, 1, BODY)


def test_signature_header_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="at least one"):
        signing.signature_header([], MSG_ID, 1, BODY)


@given(text=st.text(max_size=200), msg_id=st.text(min_size=1, max_size=40))
def test_any_body_verifies(text: str, msg_id: str) -> None:
    # The reference verifier parses the body as JSON, so the text goes inside a JSON string.
    body = json.dumps({"text": text}, ensure_ascii=False)
    secret = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    headers = as_dict(signing.signed_headers([secret], msg_id, int(time.time()), body))
    Webhook(secret).verify(body.encode(), headers)
