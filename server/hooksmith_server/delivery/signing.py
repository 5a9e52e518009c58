"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

A secret is `whsec_` followed by the base64 of the key. The signed content is
`{msg_id}.{timestamp}.{body}`; the `webhook-signature` header holds one `v1,<base64>`
per secret, space-separated, so a receiver verifies during a secret rotation with
either the old or the new secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _secrets
from collections.abc import Sequence

from hooksmith_server import domain

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh signing secret: `whsec_` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(32)).decode("ascii")


def _key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    # Like the reference libraries, accept secrets whose base64 padding was dropped.
    encoded += "=" * (-len(encoded) % 4)
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise ValueError("signing secret is not valid base64") from exc
    if not key:
        raise ValueError("signing secret is empty")
    return key


def signature(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """The `v1,<base64 HMAC-SHA256>` signature of one message with one secret."""
    content = f"{msg_id}.{timestamp}.{body}".encode()
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(secrets: Sequence[str], msg_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` value: one signature per secret, space-separated."""
    if not secrets:
        raise ValueError("at least one signing secret is required")
    return " ".join(signature(secret, msg_id, timestamp, body) for secret in secrets)


def signed_headers(
    secrets: Sequence[str], msg_id: str, timestamp: int, body: str
) -> tuple[domain.Header, ...]:
    """The `webhook-id`, `webhook-timestamp` and `webhook-signature` headers."""
    return (
        domain.Header("webhook-id", msg_id),
        domain.Header("webhook-timestamp", str(timestamp)),
        domain.Header("webhook-signature", signature_header(secrets, msg_id, timestamp, body)),
    )
