"""The realistic webhook every benchmark uses: an SMS provider's send-message call."""

from __future__ import annotations

from typing import Any

from hooksmith_server import domain

URL = "{base}/v1/accounts/{{{{ account_id }}}}/messages"
AUTHORIZATION = "Bearer {{ api_token }}"
BODY = (
    '{"to": "{{ tags.phone_number }}", '
    '"text": "Hi {{ tags.first_name | default(\'there\') }}, {{ text }}"}'
)
DATA: dict[str, Any] = {
    "account_id": "AC5ef8732a3c49700934481addd5ce1659",
    "api_token": "tok_live_4f9a2c7e1b8d4e6f",
    "text": "your order #1234 has shipped and arrives on Thursday.",
}


def spec(base: str = "https://api.sms.example") -> domain.WebhookSpec:
    """The webhook, sending to `base` (scheme, host and port, no trailing slash)."""
    return domain.WebhookSpec(
        name="sms",
        url=URL.format(base=base),
        method=domain.HttpMethod.POST,
        headers=(
            domain.Header("Authorization", AUTHORIZATION, secret=True),
            domain.Header("X-Client", "hooksmith-bench"),
        ),
        body_format=domain.BodyFormat.JSON,
        body=BODY,
    )


def tags(i: int) -> dict[str, Any]:
    # Every tenth recipient has no first name, so `default('there')` is exercised too.
    values: dict[str, Any] = {"phone_number": f"+1555{i:07d}", "plan": "pro", "orders": 3}
    if i % 10:
        values["first_name"] = "Ada"
    return values


def recipient(i: int) -> domain.Recipient:
    return domain.Recipient(f"user-{i}", tags(i), {"event": "order_shipped", "order": 1234})
