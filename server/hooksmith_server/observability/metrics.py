"""Prometheus metrics, in a registry of each running server's own.

Every metric is named `hooksmith_*`; counters end in `_total`, durations are in
seconds. The queue gauges are read from the database when `/metrics` is scraped
(`QueueGauges`), so they show the whole queue whichever process is asked; the rest
count what this process did. docs/operations.md lists them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
"""The media type of `Metrics.exposition()` (Prometheus text format)."""

_RPC_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_ATTEMPT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class QueueStats:
    """The queue as the database sees it at one moment (counts are bounded, see the store)."""

    due: int
    """Pending messages whose next attempt is due now (waiting for a worker, a paused
    destination or a rate limit)."""
    waiting: int
    """Pending messages scheduled later: retries, and attempts in flight under a lease."""
    oldest_due_age: float
    """Seconds since the oldest due message became due; 0 when none is due."""
    paused_destinations: int
    """Destinations whose breaker is open (their deliveries paused)."""


class QueueGauges(Protocol):
    """Where the queue gauges come from; read once per scrape."""

    async def read(self) -> QueueStats: ...


def status_class(status_code: int | None) -> str:
    """`2xx` … `5xx` for an HTTP answer; `none` when no answer came (connection error,
    timeout, refused by the egress guard, nothing sent)."""
    if status_code is None:
        return "none"
    return f"{status_code // 100}xx"


class Metrics:
    """The server's metrics; `registry` is its own, so servers in one process don't mix."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.rpcs = Counter(
            "hooksmith_rpcs",
            "gRPC calls of hooksmith.v1.WebhookService answered, by method and status code.",
            ["method", "code"],
            registry=registry,
        )
        self.rpc_duration = Histogram(
            "hooksmith_rpc_duration_seconds",
            "Time from a call's arrival to its answer, by method.",
            ["method"],
            buckets=_RPC_BUCKETS,
            registry=registry,
        )
        self.attempts = Counter(
            "hooksmith_attempts",
            "Delivery attempts made by this process, by outcome (succeeded, retrying, failed, "
            "skipped: the template skipped the recipient) "
            "and the receiver's status class (2xx ... 5xx, none without an answer).",
            ["outcome", "status_class"],
            registry=registry,
        )
        self.attempt_duration = Histogram(
            "hooksmith_attempt_duration_seconds",
            "Time of one attempt's HTTP exchange (or of the failure before it), by outcome.",
            ["outcome"],
            buckets=_ATTEMPT_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "hooksmith_messages_in_flight",
            "Messages this process has claimed and not finished attempting "
            "(rate-limited ones waiting for their turn included).",
            registry=registry,
        )
        self.queue_depth = Gauge(
            "hooksmith_queue_depth",
            "Pending messages in the database: due now, or waiting for a later attempt.",
            ["state"],
            registry=registry,
        )
        self.oldest_due_age = Gauge(
            "hooksmith_queue_oldest_due_age_seconds",
            "How long the oldest due message has been due (0 when none is).",
            registry=registry,
        )
        self.destinations_paused = Gauge(
            "hooksmith_destinations_paused",
            "Destinations whose circuit breaker is open: their deliveries are paused.",
            registry=registry,
        )
        self.breaker_transitions = Counter(
            "hooksmith_breaker_transitions",
            "Circuit breakers this process's deliveries opened or closed, by change.",
            ["change"],
            registry=registry,
        )
        self.rate_limit_wait = Histogram(
            "hooksmith_rate_limit_wait_seconds",
            "How long messages of rate-limited webhooks waited for their turn.",
            buckets=_WAIT_BUCKETS,
            registry=registry,
        )
        self.render_failures = Counter(
            "hooksmith_render_failures",
            "Attempts that ended before a request because the templates failed to render.",
            registry=registry,
        )
        self.queue_read_failures = Counter(
            "hooksmith_queue_read_failures",
            "Scrapes whose queue gauges could not be read from the database.",
            registry=registry,
        )
        for state in ("due", "waiting"):
            self.queue_depth.labels(state)
        for change in ("opened", "closed"):
            self.breaker_transitions.labels(change)

    def rpc(self, method: str, code: str, seconds: float) -> None:
        self.rpcs.labels(method, code).inc()
        self.rpc_duration.labels(method).observe(seconds)

    def attempt(self, outcome: str, status_code: int | None, seconds: float) -> None:
        self.attempts.labels(outcome, status_class(status_code)).inc()
        self.attempt_duration.labels(outcome).observe(seconds)

    def breaker_changed(self, *, opened: bool) -> None:
        self.breaker_transitions.labels("opened" if opened else "closed").inc()

    def rate_limited(self, seconds: float) -> None:
        self.rate_limit_wait.observe(seconds)

    def render_failed(self) -> None:
        self.render_failures.inc()

    def queue(self, stats: QueueStats) -> None:
        self.queue_depth.labels("due").set(stats.due)
        self.queue_depth.labels("waiting").set(stats.waiting)
        self.oldest_due_age.set(stats.oldest_due_age)
        self.destinations_paused.set(stats.paused_destinations)

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format."""
        return generate_latest(self.registry)
