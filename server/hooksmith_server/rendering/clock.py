"""A time budget for each render.

Templates run on the server's event loop, so a template that loops for long would
stall every call and delivery in the process. Each render gets a deadline; a
language checks it as it loops, calls, filters, computes and outputs, and past it the
render stops with an error naming the field.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# (deadline on the monotonic clock, the budget in seconds); none outside a render.
_DEADLINE: ContextVar[tuple[float, float]] = ContextVar(
    "hooksmith_render_deadline", default=(math.inf, math.inf)
)


class RenderTooSlow(Exception):
    """A render ran past its time budget."""


@contextmanager
def budget(seconds: float) -> Iterator[None]:
    """Give the render inside this block `seconds` of time."""
    token = _DEADLINE.set((time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def check() -> None:
    """Raise RenderTooSlow once the current render is past its deadline."""
    deadline, seconds = _DEADLINE.get()
    if time.monotonic() > deadline:
        raise RenderTooSlow(f"rendering took longer than {seconds * 1000:,.0f} ms, the limit")
