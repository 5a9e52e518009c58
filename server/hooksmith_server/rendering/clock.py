"""A time budget for each render.

Templates run on the server's event loop, so a template that loops for long would
stall every call and delivery in the process. Each render gets a deadline; a
language checks it as it loops, calls, filters, computes and outputs, and past it the
render stops with an error naming the field.

The budget is CPU time of the rendering thread: the cheap monotonic clock is read at
each check, and only once it passes the deadline is the thread's CPU time asked. A
render the operating system paused (a busy machine, a garbage collection in another
thread) gets the time it lost back instead of failing a message that renders fine.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# (deadline on the monotonic clock, the budget in seconds, the thread's CPU time at the
# start); none outside a render.
_DEADLINE: ContextVar[tuple[float, float, float]] = ContextVar(
    "hooksmith_render_deadline", default=(math.inf, math.inf, 0.0)
)


class RenderTooSlow(Exception):
    """A render ran past its time budget."""


@contextmanager
def budget(seconds: float) -> Iterator[None]:
    """Give the render inside this block `seconds` of time."""
    token = _DEADLINE.set((time.monotonic() + seconds, seconds, time.thread_time()))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def check() -> None:
    """Raise RenderTooSlow once the current render is past its deadline."""
    deadline, seconds, cpu_start = _DEADLINE.get()
    now = time.monotonic()
    if now <= deadline:
        return
    used = time.thread_time() - cpu_start
    if used > seconds:
        raise RenderTooSlow(f"rendering took longer than {seconds * 1000:,.0f} ms, the limit")
    # Paused rather than busy: the deadline moves by the time the render did not get.
    _DEADLINE.set((now + seconds - used, seconds, cpu_start))
