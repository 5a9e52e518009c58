"""Identifiers: time-ordered UUIDs (version 7), shown to callers as strings."""

from __future__ import annotations

import os
import time
import uuid

from hooksmith_server import errors


def new() -> uuid.UUID:
    """A UUIDv7: 48 bits of Unix milliseconds, then random bits (RFC 9562)."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= (rand >> 68) << 64  # 12 random bits (rand_a)
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)  # 62 random bits (rand_b)
    return uuid.UUID(int=value)


def parse(text: str, field: str) -> uuid.UUID:
    """A caller-supplied id; a malformed one is INVALID_ARGUMENT naming `field`."""
    if not text:
        raise errors.InvalidArgument.field(field, "is required")
    try:
        return uuid.UUID(text)
    except ValueError:
        raise errors.InvalidArgument.field(field, f"{text[:80]!r} is not a valid id") from None
