"""One attempt of one claimed message: render, sign, send, decide what comes next."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime

from hooksmith_server import domain, errors
from hooksmith_server.delivery import masking, policy, ports, signing
from hooksmith_server.delivery.sender import Exchange

log = logging.getLogger(__name__)


class Deliverer:
    """Makes attempts; safe to use from many tasks at once."""

    def __init__(
        self,
        versions: ports.Versions,
        secrets: signing.SigningSecrets,
        sender: ports.Sender,
    ) -> None:
        self._versions = versions
        self._secrets = secrets
        self._sender = sender

    async def attempt(self, claim: domain.Claim) -> domain.Outcome:
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
            log.exception(
                "attempt %d of message %s failed unexpectedly", claim.attempt_number, claim.id
            )
            return _failed(
                claim,
                datetime.now(UTC),
                f"internal error during the attempt ({type(e).__name__}: {e})",
            )

    async def _attempt(self, claim: domain.Claim) -> domain.Outcome:
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
        secrets = await self._secrets.active(claim.workspace_id, claim.webhook_id)
        signed = signing.signed_headers(secrets, str(claim.id), int(time.time()), request.body)
        request = replace(request, headers=request.headers + signed)
        timeout = policy.timeout(spec.policy).total_seconds()
        sent = await self._sender.send(request, timeout=timeout)
        return _decide(claim, spec.policy, sent)


def _failed(claim: domain.Claim, start: datetime, error: str) -> domain.Outcome:
    """An attempt that ended before any request went out; such a failure is never retried."""
    return domain.Outcome(
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


def _decide(claim: domain.Claim, delivery: domain.DeliveryPolicy, sent: Exchange) -> domain.Outcome:
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
    return domain.Outcome(
        claim=claim,
        start_time=sent.start_time,
        duration=sent.duration,
        request=request,
        response=response,
        error=error,
        status=nxt.status,
        failures=nxt.failures,
        next_attempt_time=nxt.next_attempt_time,
        receiver_ok=True if sent.succeeded else (False if sent.retryable else None),
    )
