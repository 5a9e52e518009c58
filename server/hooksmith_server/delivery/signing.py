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
import time
import uuid
from collections.abc import Sequence

from hooksmith_server import domain
from hooksmith_server.delivery import ports

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


# Rotation must show up quickly in every process; within one process it is immediate.
SECRETS_TTL = 2.0


class SigningSecrets:
    """Secrets to sign with, per webhook; `forget` makes a rotation take effect at once.

    One object per process, made by the composition root and shared by the deliverer
    and the use case that rotates secrets.
    """

    def __init__(self, store: ports.SecretStore, *, ttl: float = SECRETS_TTL) -> None:
        self._store = store
        self._ttl = ttl
        self._cache: dict[tuple[uuid.UUID, uuid.UUID], tuple[float, tuple[str, ...]]] = {}

    async def active(self, workspace_id: uuid.UUID, webhook_id: uuid.UUID) -> tuple[str, ...]:
        """The secrets to sign with now, newest first."""
        key = (workspace_id, webhook_id)
        cached = self._cache.get(key)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        secrets = await self._store.active_secrets(workspace_id, webhook_id)
        self._cache[key] = (now, secrets)
        return secrets

    def forget(self, workspace_id: uuid.UUID, webhook_id: uuid.UUID) -> None:
        """Drop the cached secrets of a webhook (after a rotation in this process)."""
        self._cache.pop((workspace_id, webhook_id), None)
