"""Identifiers: time-ordered UUIDs (version 7), shown to callers as strings."""

from __future__ import annotations

import os
import time
import uuid

from hooksmith_server import errors


def new() -> uuid.UUID:
    """A UUIDv7: 48 bits of Unix milliseconds, then random bits (RFC 9562)."""
    return new_many(1)[0]


def new_many(count: int) -> list[uuid.UUID]:
    """`count` UUIDv7s of this millisecond, from one read of the random source."""
    ms = time.time_ns() // 1_000_000
    head = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | 0b10 << 62  # time, version, variant
    random = os.urandom(10 * count)
    ids = []
    for i in range(0, 10 * count, 10):
        rand = int.from_bytes(random[i : i + 10], "big")
        # 12 random bits (rand_a), then 62 (rand_b).
        ids.append(uuid.UUID(int=head | (rand >> 68) << 64 | rand & ((1 << 62) - 1)))
    return ids


def parse(text: str, field: str) -> uuid.UUID:
    """A caller-supplied id; a malformed one is INVALID_ARGUMENT naming `field`."""
    if not text:
        raise errors.InvalidArgument.field(field, "is required")
    try:
        return uuid.UUID(text)
    except ValueError:
        raise errors.InvalidArgument.field(field, f"{text[:80]!r} is not a valid id") from None
