"""The retry schedule: what happens after each attempt."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hooksmith_server import domain
from hooksmith_server.delivery import policy

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TWO = domain.DeliveryPolicy(retry_schedule=(timedelta(seconds=10), timedelta(seconds=20)))


def after(**overrides: object) -> policy.Next:
    args: dict[str, object] = {
        "succeeded": False,
        "retryable": True,
        "retry_after": None,
        "final": False,
        "failures": 0,
        "policy": TWO,
        "now": NOW,
    }
    args.update(overrides)
    return policy.after_attempt(**args)  # type: ignore[arg-type]


def test_default_schedule_gives_eight_attempts() -> None:
    assert len(policy.schedule(domain.DeliveryPolicy())) == 7
    assert policy.schedule(domain.DeliveryPolicy())[0] == timedelta(seconds=5)
    assert policy.timeout(domain.DeliveryPolicy()) == timedelta(seconds=10)


def test_success_ends_the_message() -> None:
    assert after(succeeded=True).status == domain.MessageStatus.SUCCEEDED


def test_retryable_failures_follow_the_schedule_then_fail() -> None:
    first = after(failures=0)
    assert first.status == domain.MessageStatus.PENDING
    assert first.failures == 1
    assert first.next_attempt_time is not None
    assert timedelta(seconds=8) <= first.next_attempt_time - NOW <= timedelta(seconds=12)
    second = after(failures=1)
    assert second.next_attempt_time is not None
    assert timedelta(seconds=16) <= second.next_attempt_time - NOW <= timedelta(seconds=24)
    last = after(failures=2)
    assert (last.status, last.next_attempt_time) == (domain.MessageStatus.FAILED, None)


def test_non_retryable_and_final_attempts_fail_at_once() -> None:
    assert after(retryable=False).status == domain.MessageStatus.FAILED
    assert after(final=True).status == domain.MessageStatus.FAILED


def test_jitter_stays_within_twenty_percent_and_varies() -> None:
    rng = random.Random(7)
    delays = {policy.retry_delay(timedelta(seconds=100), None, rng) for _ in range(200)}
    assert all(timedelta(seconds=80) <= d <= timedelta(seconds=120) for d in delays)
    assert len(delays) > 100


def test_retry_after_is_honoured_between_once_and_twice_the_scheduled_delay() -> None:
    scheduled = timedelta(seconds=10)
    assert policy.retry_delay(scheduled, 15, None) == timedelta(seconds=15)
    assert policy.retry_delay(scheduled, 3, None) == timedelta(seconds=10)
    assert policy.retry_delay(scheduled, 3600, None) == timedelta(seconds=20)


# The schedule the README promises, written out so that a change to DEFAULT_SCHEDULE fails here.
PROMISED = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)


def test_the_default_schedule_is_the_promised_one() -> None:
    assert policy.DEFAULT_SCHEDULE == PROMISED
    assert policy.schedule(domain.DeliveryPolicy()) == PROMISED


def test_each_default_retry_waits_its_delay_within_twenty_percent() -> None:
    for k, delay in enumerate(PROMISED):
        waits = []
        for _ in range(200):
            nxt = after(failures=k, policy=domain.DeliveryPolicy())
            assert (nxt.status, nxt.failures) == (domain.MessageStatus.PENDING, k + 1)
            assert nxt.next_attempt_time is not None
            waits.append((nxt.next_attempt_time - NOW) / delay)
        assert all(0.8 <= w <= 1.2 for w in waits), f"retry {k + 1}: {min(waits)}..{max(waits)}"
        # Spread both ways: the jitter is applied, and it is the full ±20 %.
        assert min(waits) < 0.85, f"retry {k + 1} is never early enough"
        assert max(waits) > 1.15, f"retry {k + 1} is never late enough"


def test_the_attempt_after_the_last_default_delay_fails_the_message() -> None:
    last = after(failures=len(PROMISED), policy=domain.DeliveryPolicy())
    assert (last.status, last.failures, last.next_attempt_time) == (
        domain.MessageStatus.FAILED,
        len(PROMISED) + 1,
        None,
    )
