"""A time budget for each render.

Templates run on the server's event loop, so a template that loops for long would
stall every call and delivery in the process. Each render gets a deadline; a
language checks it as it loops, calls, filters, computes and outputs, and past it the
render stops with an error naming the field.

The budget is CPU time of the rendering thread: the cheap monotonic clock is read at
each check, and only once it passes the deadline is the thread's CPU time asked. A
render the operating system paused (a busy machine) gets the time it lost back, and so
does one the garbage collector interrupted (a full collection of a large heap can take
longer than the whole budget): neither says anything about the template, and failing
a message that renders fine for them would be wrong.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# (deadline on the monotonic clock, the budget in seconds, the thread's CPU time and
# the collector's seconds at the start); none outside a render.
_DEADLINE: ContextVar[tuple[float, float, float, float]] = ContextVar(
    "hooksmith_render_deadline", default=(math.inf, math.inf, 0.0, 0.0)
)


_gc = {"seconds": 0.0, "started": 0.0}
"""Seconds spent in garbage collections since the process started (and the start of the
one under way), which a render's budget does not count."""


def _on_gc(phase: str, _info: dict[str, int]) -> None:
    if phase == "start":
        _gc["started"] = time.perf_counter()
    else:
        _gc["seconds"] += time.perf_counter() - _gc["started"]


gc.callbacks.append(_on_gc)


class RenderTooSlow(Exception):
    """A render ran past its time budget."""


@contextmanager
def budget(seconds: float) -> Iterator[None]:
    """Give the render inside this block `seconds` of time."""
    token = _DEADLINE.set((time.monotonic() + seconds, seconds, time.thread_time(), _gc["seconds"]))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def check() -> None:
    """Raise RenderTooSlow once the current render is past its deadline."""
    deadline, seconds, cpu_start, gc_start = _DEADLINE.get()
    now = time.monotonic()
    if now <= deadline:
        return
    used = time.thread_time() - cpu_start - (_gc["seconds"] - gc_start)
    if used > seconds:
        raise RenderTooSlow(f"rendering took longer than {seconds * 1000:,.0f} ms, the limit")
    # Paused rather than busy: the deadline moves by the time the render did not get.
    _DEADLINE.set((now + seconds - used, seconds, cpu_start, gc_start))
