"""Delivery policy: timeouts, the retry schedule and what happens after an attempt."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from hooksmith_server import domain

DEFAULT_TIMEOUT = timedelta(seconds=10)
DEFAULT_SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
JITTER = 0.2


def timeout(policy: domain.DeliveryPolicy) -> timedelta:
    return policy.timeout or DEFAULT_TIMEOUT


def schedule(policy: domain.DeliveryPolicy) -> tuple[timedelta, ...]:
    return policy.retry_schedule or DEFAULT_SCHEDULE


@dataclass(frozen=True)
class Next:
    """The message's state after an attempt."""

    status: domain.MessageStatus
    failures: int
    next_attempt_time: datetime | None


def retry_delay(
    scheduled: timedelta, retry_after: float | None, rng: random.Random | None = None
) -> timedelta:
    """The scheduled delay jittered by ±20 %; a Retry-After is honoured between 1x and 2x it."""
    if retry_after is not None:
        seconds = min(max(retry_after, scheduled.total_seconds()), 2 * scheduled.total_seconds())
        return timedelta(seconds=seconds)
    factor = 1 + (rng or random).uniform(-JITTER, JITTER)
    return scheduled * factor


def after_attempt(
    *,
    succeeded: bool,
    retryable: bool,
    retry_after: float | None,
    final: bool,
    failures: int,
    policy: domain.DeliveryPolicy,
    now: datetime,
) -> Next:
    """Decide the message's next state.

    `final` is set for test sends and manual retries, which are never retried;
    `failures` counts the scheduled attempts that failed before this one.
    """
    if succeeded:
        return Next(domain.MessageStatus.SUCCEEDED, failures, None)
    delays = schedule(policy)
    if final or not retryable or failures >= len(delays):
        return Next(domain.MessageStatus.FAILED, failures + 1, None)
    delay = retry_delay(delays[failures], retry_after)
    return Next(domain.MessageStatus.PENDING, failures + 1, now + delay)
