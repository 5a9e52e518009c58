"""One attempt of one claimed message: render, sign, send, decide what comes next."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime

from hooksmith_server import domain, errors, rendering
from hooksmith_server.delivery import capture, credentials, masking, policy, ports, signing
from hooksmith_server.delivery.sender import Exchange
from hooksmith_server.observability import logs
from hooksmith_server.observability.metrics import Metrics
from hooksmith_server.observability.tracing import Span, Tracing

log = logging.getLogger(__name__)


class Deliverer:
    """Makes attempts; safe to use from many tasks at once."""

    def __init__(
        self,
        versions: ports.Versions,
        secrets: signing.SigningSecrets,
        sender: ports.Sender,
        *,
        metrics: Metrics | None = None,
        tracing: Tracing | None = None,
        tokens: credentials.Credentials | None = None,
    ) -> None:
        self._versions = versions
        self._secrets = secrets
        self._sender = sender
        # One per process (the composition root's), so every attempt shares its tokens.
        self._tokens = tokens if tokens is not None else credentials.Credentials(sender)
        self._metrics = metrics if metrics is not None else Metrics()
        self._tracing = tracing if tracing is not None else Tracing()

    async def attempt(self, claim: domain.Claim) -> domain.Outcome:
        """One attempt, always ending in an outcome to record.

        Only `errors.Unavailable` escapes (the database is down): the lease then
        expires and the message is attempted again. Anything else that goes wrong
        fails the message, so no input can make it loop.
        """
        with self._tracing.attempt(claim) as span:
            try:
                outcome = await self._captured(claim, await self._attempt(claim))
            except (errors.Unavailable, asyncio.CancelledError):
                raise
            except errors.FailedPrecondition as e:
                # A stored secret that does not open (altered, or sealed with a key this
                # process lacks): the message fails with why; nothing is sent.
                log.error("attempt %d of message %s failed: %s", claim.attempt_number, claim.id, e)
                outcome = _failed(claim, datetime.now(UTC), e.message)
            except Exception as e:
                log.exception(
                    "attempt %d of message %s failed unexpectedly",
                    claim.attempt_number,
                    claim.id,
                    extra=logs.claim_ids(claim),
                )
                outcome = _failed(
                    claim,
                    datetime.now(UTC),
                    f"internal error during the attempt ({type(e).__name__}: {e})",
                )
            self._observe(outcome, span)
            return outcome

    def _observe(self, outcome: domain.Outcome, span: Span) -> None:
        """Count the attempt and describe it on its span."""
        result = _OUTCOMES[outcome.status]
        code = outcome.response.status_code if outcome.response is not None else None
        self._metrics.attempt(result, code, outcome.duration.total_seconds())
        span.set("hooksmith.outcome", result)
        if code is not None:
            span.set("http.response.status_code", code)
        if outcome.status not in (domain.MessageStatus.SUCCEEDED, domain.MessageStatus.SKIPPED):
            span.error(outcome.error or result)

    async def _captured(self, claim: domain.Claim, outcome: domain.Outcome) -> domain.Outcome:
        """`outcome` with the values its webhook's `capture` names in a 2xx response."""
        if outcome.status is not domain.MessageStatus.SUCCEEDED or outcome.response is None:
            return outcome
        compiled = await self._versions.load(
            claim.workspace_id, claim.webhook_id, claim.webhook_version
        )
        if not compiled.spec.capture:
            return outcome
        return replace(outcome, captured=capture.extract(compiled.spec.capture, outcome.response))

    async def _attempt(self, claim: domain.Claim) -> domain.Outcome:
        compiled = await self._versions.load(
            claim.workspace_id, claim.webhook_id, claim.webhook_version
        )
        spec = compiled.spec
        start = datetime.now(UTC)
        try:
            rendered = compiled.render(claim.recipient, claim.data, require_data=True)
        except rendering.SkipRecipient as e:
            # The template chose not to send to this recipient: nothing goes out.
            return _ended(claim, start, e.reason, domain.MessageStatus.SKIPPED)
        except errors.InvalidArgument as e:
            # The same input renders the same way next time: not retried.
            self._metrics.render_failed()
            return _failed(claim, start, f"render failed: {e.message}")
        request = rendered.request
        secrets = await self._secrets.active(claim.workspace_id, claim.webhook_id)
        signed = signing.signed_headers(secrets, str(claim.id), int(time.time()), request.body)
        request = replace(request, headers=request.headers + signed)
        timeout = policy.timeout(spec.policy).total_seconds()
        if spec.auth is None:
            sent = await self._sender.send(request, timeout=timeout)
            return _decide(claim, spec.policy, sent)
        # A token request counts against the attempt's timeout, which the lease allows for.
        deadline = time.monotonic() + timeout
        refused: Exchange | None = None
        try:
            sent = await self._authorized(claim, spec.auth, request, deadline, timeout)
            rejected = _authorization(sent.request)
            oauth2 = isinstance(spec.auth, domain.OAuth2ClientCredentials)
            if oauth2 and rejected and sent.response and sent.response.status_code == 401:
                # The token may have been revoked before it expired: fetch one once more.
                refused = sent
                self._tokens.reject(claim.workspace_id, claim.webhook_id, spec.auth, rejected)
                again = await self._authorized(claim, spec.auth, request, deadline, timeout)
                sent = replace(
                    again,
                    start_time=refused.start_time,
                    duration=datetime.now(UTC) - refused.start_time,
                )
        except credentials.TokenError as e:
            return _no_token(claim, spec.policy, start, e, refused_by=refused)
        return _decide(claim, spec.policy, sent)

    async def _authorized(
        self,
        claim: domain.Claim,
        auth: domain.Auth,
        request: domain.HttpRequest,
        deadline: float,
        timeout: float,  # noqa: ASYNC109 (a token fetch's own, shared with other attempts)
    ) -> Exchange:
        """Send `request` with the Authorization header of `auth`, by `deadline` (monotonic).

        A token fetch this starts takes up to the webhook's whole `timeout`: attempts that
        wait on it meanwhile each give up at their own deadline."""
        header = await self._tokens.header(
            claim.workspace_id,
            claim.webhook_id,
            auth,
            timeout=_left(deadline),
            fetch_timeout=timeout,
        )
        if header is not None:
            request = replace(request, headers=(*request.headers, header))
        return await self._sender.send(request, timeout=_left(deadline))


def _left(deadline: float) -> float:
    """Seconds to `deadline`, to the millisecond (a cached token leaves the timeout whole)."""
    return max(round(deadline - time.monotonic(), 3), 0.001)


def _authorization(request: domain.HttpRequest) -> str | None:
    return next((h.value for h in request.headers if h.name == credentials.HEADER), None)


def _no_token(
    claim: domain.Claim,
    delivery: domain.DeliveryPolicy,
    start: datetime,
    error: credentials.TokenError,
    *,
    refused_by: Exchange | None = None,
) -> domain.Outcome:
    """The token endpoint failed, so no request went out (or none after the receiver's
    401 in `refused_by`, which history keeps). Retried by the schedule like a receiver
    that is down, but says nothing of the receiver (its breaker is untouched)."""
    message = error.message
    request = response = None
    if refused_by is not None:
        message += " (fetching a new token after the receiver answered 401)"
        request, response = _masked(refused_by)
    nxt = policy.after_attempt(
        succeeded=False,
        retryable=error.retryable,
        retry_after=None,
        final=claim.final,
        failures=claim.failures,
        policy=delivery,
        now=datetime.now(UTC),
    )
    return domain.Outcome(
        claim=claim,
        start_time=start,
        duration=datetime.now(UTC) - start,
        request=request,
        response=response,
        error=message,
        status=nxt.status,
        failures=nxt.failures,
        next_attempt_time=nxt.next_attempt_time,
    )


_OUTCOMES = {
    domain.MessageStatus.SUCCEEDED: "succeeded",
    domain.MessageStatus.PENDING: "retrying",
    domain.MessageStatus.FAILED: "failed",
    domain.MessageStatus.SKIPPED: "skipped",
}


def _failed(claim: domain.Claim, start: datetime, error: str) -> domain.Outcome:
    """An attempt that ended before any request went out; such a failure is never retried."""
    return _ended(claim, start, error, domain.MessageStatus.FAILED)


def _ended(
    claim: domain.Claim, start: datetime, error: str, status: domain.MessageStatus
) -> domain.Outcome:
    """An attempt that ended with `status` before any request went out.

    A skip is not a failure: the message's failure count stays as it was.
    """
    failed = status is domain.MessageStatus.FAILED
    return domain.Outcome(
        claim=claim,
        start_time=start,
        duration=datetime.now(UTC) - start,
        request=None,
        response=None,
        error=error,
        status=status,
        failures=claim.failures + 1 if failed else claim.failures,
        next_attempt_time=None,
    )


def _masked(sent: Exchange) -> tuple[domain.HttpRequest, domain.HttpResponse | None]:
    """The exchange's request and response as history keeps them: no credentials in the clear."""
    request = replace(sent.request, headers=masking.mask_headers(sent.request.headers))
    response = sent.response
    if response is not None:
        response = replace(response, headers=masking.mask_headers(response.headers))
    return request, response


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
    request, response = _masked(sent)
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
