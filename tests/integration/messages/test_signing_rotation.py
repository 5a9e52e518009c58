"""Secret rotation: both secrets sign for 24 h, then only the new one, on a clock the test moves."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith_server.delivery import signing
from tests.harness.history import create, send_one
from tests.harness.polling import wait_until
from tests.harness.receiver import Received, Receiver
from tests.harness.server import Api, StartServer


class Clock:
    """The catalog's time: the real time plus an offset the test sets."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


async def delivered(api: Api, receiver: Receiver, webhook: pb.Webhook) -> Received:
    """The request of one live message, sent through the workers."""
    sent = await send_one(api, webhook)
    assert sent.status == pb.MESSAGE_STATUS_SUCCEEDED
    (request,) = receiver.by_id()[sent.id]
    return request


def signatures(request: Received) -> list[str]:
    return (request.header("webhook-signature") or "").split(" ")


def verify(secret: str, request: Received) -> None:
    Verifier(secret).verify(request.body, dict(request.headers))


async def test_the_previous_secret_signs_for_24_hours_after_a_rotation_and_then_stops(
    start_server: StartServer, start_receiver
) -> None:
    clock = Clock()
    server = await start_server(clock=clock)
    api = await server.api()
    receiver = await start_receiver()
    webhook = await create(api, receiver.url())
    old = webhook.signing_secret

    before = await delivered(api, receiver, webhook)
    assert len(signatures(before)) == 1
    verify(old, before)

    rotated = (await api.RotateSecret(pb.RotateSecretRequest(id=webhook.id))).webhook
    new = rotated.signing_secret
    assert new != old

    just_after = await delivered(api, receiver, webhook)
    assert len(signatures(just_after)) == 2
    verify(old, just_after)
    verify(new, just_after)
    # Newest first: a receiver that checks only the first signature moves to the new secret.
    assert signatures(just_after)[0] == signing.signature(
        new,
        just_after.header("webhook-id") or "",
        int(just_after.header("webhook-timestamp") or 0),
        just_after.body.decode(),
    )

    # A minute before the grace ends. The per-process cache is let expire first, so what
    # is checked is the store's decision and not the secrets cached a moment ago.
    clock.offset = timedelta(hours=24) - timedelta(minutes=1)
    await asyncio.sleep(signing.SECRETS_TTL)
    near_the_end = await delivered(api, receiver, webhook)
    assert len(signatures(near_the_end)) == 2
    verify(old, near_the_end)
    verify(new, near_the_end)

    # Past the grace: once the cache has let go, only the new secret signs.
    clock.offset = timedelta(hours=24) + timedelta(seconds=1)
    last: list[Received] = []

    async def signed_once() -> bool:
        last.append(await delivered(api, receiver, webhook))
        return len(signatures(last[-1])) == 1

    await wait_until(signed_once, timeout=signing.SECRETS_TTL + 10.0, every=0.2)
    for request in [last[-1], await delivered(api, receiver, webhook)]:
        assert len(signatures(request)) == 1
        verify(new, request)
        with pytest.raises(WebhookVerificationError):
            verify(old, request)
