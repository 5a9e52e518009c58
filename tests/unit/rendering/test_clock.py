"""The render budget counts the rendering thread's CPU time, not time it was paused."""

from __future__ import annotations

import gc
import time

import pytest

from hooksmith_server.rendering import clock


def test_a_render_paused_past_its_deadline_goes_on() -> None:
    with clock.budget(0.05):
        time.sleep(0.12)  # descheduled, as on a busy machine: no CPU spent
        clock.check()
        time.sleep(0.12)
        clock.check()


def spin(seconds: float) -> None:
    """Spend `seconds` of CPU, checking the budget as a template loop does."""
    started = time.thread_time()
    while time.thread_time() - started < seconds:
        clock.check()


def test_a_render_busy_past_its_budget_stops() -> None:
    with clock.budget(0.05), pytest.raises(clock.RenderTooSlow, match="50 ms"):
        spin(1.0)


def test_outside_a_render_there_is_no_deadline() -> None:
    with clock.budget(0.01):
        pass
    time.sleep(0.02)
    clock.check()


def test_a_render_the_garbage_collector_interrupted_goes_on() -> None:
    heap = [[i] for i in range(1_500_000)]  # a large heap makes a full collection slow
    try:
        with clock.budget(0.01):
            started = time.thread_time()
            gc.collect()
            assert time.thread_time() - started > 0.01, "the collection was too quick to test"
            clock.check()
    finally:
        del heap
