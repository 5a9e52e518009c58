"""What both clients share about the connection: target and key, channel options, the
retry policy, and the metadata every call carries."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass

import grpc

SERVICE = "hooksmith.v1.WebhookService"
TARGET_ENV = "HOOKSMITH_TARGET"
API_KEY_ENV = "HOOKSMITH_API_KEY"
DEFAULT_DEADLINE = 10.0

# One policy for the channel's retries and for the client's own retries of Send.
MAX_ATTEMPTS = 5
INITIAL_BACKOFF = 0.1
MAX_BACKOFF = 2.0
BACKOFF_MULTIPLIER = 2.0

# Methods that are safe to call again after UNAVAILABLE: reads and Render change nothing.
# Create, Update, Delete, SendTest, Retry and RotateSecret would act twice if the first
# call reached the server, so they are not listed. Send is safe only with an idempotency
# key, which a method config cannot see (it matches method names, not requests); the
# clients therefore retry Send themselves, see `send_backoffs`.
RETRIED_METHODS = ("Get", "List", "ListHistory", "GetMessage", "Render")

SERVICE_CONFIG: dict[str, object] = {
    "methodConfig": [
        {
            "name": [{"service": SERVICE, "method": method} for method in RETRIED_METHODS],
            "retryPolicy": {
                "maxAttempts": MAX_ATTEMPTS,
                "initialBackoff": f"{INITIAL_BACKOFF}s",
                "maxBackoff": f"{MAX_BACKOFF}s",
                "backoffMultiplier": BACKOFF_MULTIPLIER,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }
    ],
    # A server that is down for everyone should not receive five times the traffic:
    # retries stop while more than half of recent calls failed.
    "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1},
}

# A page of history (up to 100 messages, each with a request of up to 1 MiB and a
# response of up to 64 KiB) or a SendTest answer is far larger than gRPC's default 4 MiB
# receive limit, which would turn a legitimate answer into RESOURCE_EXHAUSTED.
MAX_RECEIVE_BYTES = 256 * 1024 * 1024


def channel_options() -> list[tuple[str, str | int]]:
    """Options for a channel to Hooksmith: the retry service config and the receive limit.

    Pass them to `grpc.secure_channel(..., options=channel_options())` (or the `aio`
    equivalents) when building a channel yourself for `Client(channel=...)`."""
    return [
        ("grpc.service_config", json.dumps(SERVICE_CONFIG)),
        ("grpc.enable_retries", 1),
        ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
    ]


def send_backoffs() -> Iterator[float]:
    """Delays before each further attempt of an idempotent Send, as gRPC computes them for
    a retry policy: uniformly random up to a cap that grows by the multiplier."""
    cap = INITIAL_BACKOFF
    for _ in range(MAX_ATTEMPTS - 1):
        yield random.uniform(0, cap)
        cap = min(cap * BACKOFF_MULTIPLIER, MAX_BACKOFF)


START_CURSOR_METADATA = "hooksmith-start-cursor"
"""WatchOutcomes' initial metadata: a cursor of where the stream starts."""
WATCH_RECONNECTS = 10
"""Reconnects in a row, none of them reaching the server, before `watch_outcomes` gives up."""


def watch_backoffs(reconnects: int = WATCH_RECONNECTS) -> Iterator[float]:
    """Delays before each reconnect of an outcome stream: random up to a cap that grows by
    the multiplier to `MAX_BACKOFF`, `reconnects` of them."""
    cap = INITIAL_BACKOFF
    for _ in range(reconnects):
        yield random.uniform(cap / 2, cap)
        cap = min(cap * BACKOFF_MULTIPLIER, MAX_BACKOFF)


@dataclass(frozen=True)
class Connection:
    """A resolved target and key, and the credentials to reach the target with."""

    target: str
    api_key: str
    credentials: grpc.ChannelCredentials | None

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.api_key}"),)


def resolve(
    target: str | None,
    api_key: str | None,
    *,
    secure: bool,
    root_certificates: bytes | None,
    has_channel: bool,
    client_certificate: bytes | None = None,
    client_key: bytes | None = None,
) -> Connection:
    """Fill target and key from the environment; refuse a client that cannot authenticate."""
    key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
    if not key:
        raise ValueError(f"no API key: pass api_key= or set {API_KEY_ENV}")
    if has_channel:
        if target is not None or secure or root_certificates is not None:
            raise ValueError("channel= comes with its own target and credentials")
        if client_certificate is not None or client_key is not None:
            raise ValueError("channel= comes with its own target and credentials")
        return Connection("", key, None)
    address = target if target is not None else os.environ.get(TARGET_ENV)
    if not address:
        raise ValueError(f"no target: pass target= or set {TARGET_ENV}")
    # TLS is opt-in and explicit: `secure=True` (system roots) or your own roots.
    # A plaintext default suits the loopback server of `make run`; anything crossing a
    # network should pass one of them.
    if (client_certificate is None) != (client_key is None):
        raise ValueError("pass client_certificate= and client_key= together, or neither")
    # A client certificate is sent only over TLS, so it turns TLS on as well.
    credentials = (
        grpc.ssl_channel_credentials(
            root_certificates=root_certificates,
            private_key=client_key,
            certificate_chain=client_certificate,
        )
        if secure or root_certificates is not None or client_certificate is not None
        else None
    )
    return Connection(address, key, credentials)


def check_deadline(deadline: float | None) -> float | None:
    if deadline is not None and deadline <= 0:
        raise ValueError("deadline must be positive seconds, or None for no deadline")
    return deadline
