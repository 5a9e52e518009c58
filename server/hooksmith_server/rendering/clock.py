"""A time budget for each render.

Templates run on the server's event loop, so a template that loops for long would
stall every call and delivery in the process. Each render gets a deadline; loops,
calls, filters, arithmetic and output check it, and past it the render stops with
an error naming the field.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import SecurityError

LOOP_GUARD = "hooksmith_loop_guard"
"""The filter every `{% for %}` iterable is passed through."""

# (deadline on the monotonic clock, the budget in seconds); none outside a render.
_DEADLINE: ContextVar[tuple[float, float]] = ContextVar(
    "hooksmith_render_deadline", default=(math.inf, math.inf)
)
# Loops look at the clock once per this many items: cheap, and still within ~1 ms.
_EVERY = 128


class RenderTooSlow(SecurityError):
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
    deadline, seconds = _DEADLINE.get()
    if time.monotonic() > deadline:
        raise RenderTooSlow(f"rendering took longer than {seconds * 1000:,.0f} ms, the limit")


def guarded(iterable: Iterable[Any]) -> Iterator[Any]:
    """`iterable`, looking at the clock as it goes."""
    for i, item in enumerate(iterable):
        if not i % _EVERY:
            check()
        yield item


def guard_loops(tree: nodes.Template) -> None:
    """Route the iterable of every `{% for %}` in `tree` through `LOOP_GUARD`."""
    for loop in tree.find_all(nodes.For):
        loop.iter = nodes.Filter(loop.iter, LOOP_GUARD, [], [], None, None, lineno=loop.lineno)
