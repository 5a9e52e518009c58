"""What every benchmark gets: the run's mode, its shared PostgreSQL, and bounded timing loops."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from bench.database import Postgres

T = TypeVar("T")


@dataclass(frozen=True)
class Bound:
    """Stop after `count` operations or `seconds`, whichever comes first."""

    count: int
    seconds: float


@dataclass(frozen=True)
class Context:
    """Made once by `python -m bench` and passed to each benchmark."""

    quick: bool
    """Shorter bounds and fewer rounds: the whole run in under a minute."""
    postgres: Postgres
    """Scratch databases for the benchmarks that need one; started on first use."""

    def pick(self, quick: T, full: T) -> T:
        """The quick value in a quick run, else the full one."""
        return quick if self.quick else full


def rate_of(operation: Callable[[], object], bound: Bound, *, chunk: int = 20) -> float:
    """Calls per second of a synchronous operation, run until `bound` is reached."""
    done = 0
    start = time.perf_counter()
    deadline = start + bound.seconds
    while done < bound.count:
        n = min(chunk, bound.count - done)
        for _ in range(n):
            operation()
        done += n
        if time.perf_counter() >= deadline:
            break
    return done / (time.perf_counter() - start)


def best_rates(
    operations: Sequence[Callable[[], object]], bound: Bound, *, rounds: int
) -> list[float]:
    """The best rate of each operation over interleaved rounds.

    Other processes on the machine can only slow a round down, so the best round is the
    closest to what the code can do; interleaving keeps a slow spell from landing on
    one side of a ratio only.
    """
    best = [0.0] * len(operations)
    for _ in range(rounds):
        for i, operation in enumerate(operations):
            best[i] = max(best[i], rate_of(operation, bound))
    return best


async def async_rate(step: Callable[[], Awaitable[int]], bound: Bound) -> float:
    """Units per second of an async step that returns how many units it did.

    `bound.count` counts steps, not units.
    """
    units = 0
    start = time.perf_counter()
    deadline = start + bound.seconds
    for _ in range(bound.count):
        units += await step()
        if time.perf_counter() >= deadline:
            break
    return units / (time.perf_counter() - start)
