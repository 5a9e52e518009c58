"""One attempt of one claimed message: render, sign, send, decide what comes next."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime

from hooksmith_server import domain, errors
from hooksmith_server.delivery import http, masking, policy, signing
from hooksmith_server.store.messages import Claim, Outcome
from hooksmith_server.store.webhooks import WebhookStore
from hooksmith_server.webhooks import Versions

log = logging.getLogger(__name__)

# Rotation must show up quickly in every process; within one process it is immediate.
SECRETS_TTL = 2.0


class Deliverer:
    """Makes attempts; safe to use from many tasks at once."""

    def __init__(self, webhooks: WebhookStore, versions: Versions, sender: http.HttpSender) -> None:
        self._webhooks = webhooks
        self._versions = versions
        self._sender = sender
        self._secrets: dict[tuple[uuid.UUID, uuid.UUID], tuple[float, tuple[str, ...]]] = {}

    def forget_secrets(self, webhook_id: uuid.UUID) -> None:
        """Drop cached secrets of a webhook (after a rotation in this process)."""
        for key in [k for k in self._secrets if k[1] == webhook_id]:
            del self._secrets[key]

    async def _secrets_of(self, claim: Claim) -> tuple[str, ...]:
        key = (claim.workspace_id, claim.webhook_id)
        cached = self._secrets.get(key)
        now = time.monotonic()
        if cached is not None and now - cached[0] < SECRETS_TTL:
            return cached[1]
        secrets = await self._webhooks.active_secrets(claim.workspace_id, claim.webhook_id)
        self._secrets[key] = (now, secrets)
        return secrets

    async def attempt(self, claim: Claim) -> Outcome:
        """One attempt, always ending in an outcome to record.

        Only `errors.Unavailable` escapes (the database is down): the lease then
        expires and the message is attempted again. Anything else that goes wrong
        fails the message, so no input can make it loop.
        """
        try:
            return await self._attempt(claim)
        except (errors.Unavailable, asyncio.CancelledError):
            raise
        except Exception as e:
            log.exception("attempt %d of message %s failed unexpectedly", claim.number, claim.id)
            return _failed(
                claim,
                datetime.now(UTC),
                f"internal error during the attempt ({type(e).__name__}: {e})",
            )

    async def _attempt(self, claim: Claim) -> Outcome:
        compiled = await self._versions.load(
            claim.workspace_id, claim.webhook_id, claim.webhook_version
        )
        spec = compiled.spec
        start = datetime.now(UTC)
        try:
            rendered = compiled.render(claim.recipient, claim.data, require_data=True)
        except errors.InvalidArgument as e:
            # The same input renders the same way next time: not retried.
            return _failed(claim, start, f"render failed: {e.message}")
        request = rendered.request
        secrets = await self._secrets_of(claim)
        signed = signing.signed_headers(secrets, str(claim.id), int(time.time()), request.body)
        request = replace(request, headers=request.headers + signed)
        timeout = policy.timeout(spec.policy).total_seconds()
        sent = await self._sender.send(request, timeout=timeout)
        return _decide(claim, spec.policy, sent)


def _failed(claim: Claim, start: datetime, error: str) -> Outcome:
    """An attempt that ended before any request went out; such a failure is never retried."""
    return Outcome(
        claim=claim,
        start_time=start,
        duration=datetime.now(UTC) - start,
        request=None,
        response=None,
        error=error,
        status=domain.MessageStatus.FAILED,
        failures=claim.failures + 1,
        next_attempt_time=None,
    )


def _decide(claim: Claim, delivery: domain.DeliveryPolicy, sent: http.Outcome) -> Outcome:
    """The outcome to record for a request that went out, and the message's next state."""
    error = sent.error
    if error is None and sent.response is not None and not sent.succeeded:
        error = f"HTTP {sent.response.status_code}"
    nxt = policy.after_attempt(
        succeeded=sent.succeeded,
        retryable=sent.retryable,
        retry_after=sent.retry_after,
        final=claim.final,
        failures=claim.failures,
        policy=delivery,
        now=datetime.now(UTC),
    )
    # History never keeps credentials in the clear.
    request = replace(sent.request, headers=masking.mask_headers(sent.request.headers))
    response = sent.response
    if response is not None:
        response = replace(response, headers=masking.mask_headers(response.headers))
    return Outcome(
        claim=claim,
        start_time=sent.start_time,
        duration=sent.duration,
        request=request,
        response=response,
        error=error,
        status=nxt.status,
        failures=nxt.failures,
        next_attempt_time=nxt.next_attempt_time,
    )
