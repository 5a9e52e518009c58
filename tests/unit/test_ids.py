"""Identifiers are UUIDv7: time-ordered, version 7, variant RFC 9562, all different."""

from __future__ import annotations

import time
import uuid

from hooksmith_server import ids


def test_many_ids_are_version_7_of_this_millisecond_and_distinct() -> None:
    before = time.time_ns() // 1_000_000
    made = ids.new_many(1000)
    after = time.time_ns() // 1_000_000
    assert len(set(made)) == 1000
    for value in made:
        assert value.version == 7
        assert value.variant == uuid.RFC_4122
        assert before <= value.int >> 80 <= after
    assert ids.new().version == 7


def test_ids_made_later_sort_after() -> None:
    first = ids.new()
    time.sleep(0.002)
    assert ids.new() > first
