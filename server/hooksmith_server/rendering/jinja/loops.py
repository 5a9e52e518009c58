"""Loops that look at the render's clock, so a long `{% for %}` stops at its deadline."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from jinja2 import nodes

from hooksmith_server.rendering import clock

LOOP_GUARD = "hooksmith_loop_guard"
"""The filter every `{% for %}` iterable is passed through."""

# Loops look at the clock once per this many items: cheap, and still within ~1 ms.
_EVERY = 128


def guarded(iterable: Iterable[Any]) -> Iterator[Any]:
    """`iterable`, looking at the clock as it goes."""
    for i, item in enumerate(iterable):
        if not i % _EVERY:
            clock.check()
        yield item


def guard_loops(tree: nodes.Template) -> None:
    """Route the iterable of every `{% for %}` in `tree` through `LOOP_GUARD`."""
    for loop in tree.find_all(nodes.For):
        loop.iter = nodes.Filter(loop.iter, LOOP_GUARD, [], [], None, None, lineno=loop.lineno)
