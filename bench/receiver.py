"""A webhook receiver in its own process: aiohttp.web on 127.0.0.1, answering 200 at once.

Its own process so that the sender under test has the event loop and a CPU core to
itself, as it would against a real receiver on another host.

Options, all off by default: answer each request after `delay` seconds (a slow
provider); count requests per `webhook-id` header (to find duplicate deliveries); and
record each request's latency from the `sent_at` field of its JSON body (seconds since
the epoch, stamped by the sender). What was counted and recorded comes back over the
pipe when asked (`Receiver.report`).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from aiohttp import web

_ANSWER = b'{"ok":true}'
# Enough for every connection of the largest benchmark to be accepted at once;
# aiohttp's default of 128 would drop SYNs and stall clients for a second.
_BACKLOG = 2048
_START_TIMEOUT = 30.0
_REPORT_TIMEOUT = 30.0
# The most latencies kept: a bound on the child's memory and on the report's size.
_MAX_LATENCIES = 1_000_000


@dataclass(frozen=True)
class Options:
    delay: float = 0.0
    """Seconds to wait before answering each request."""
    count_ids: bool = False
    """Count requests per `webhook-id` header."""
    latency: bool = False
    """Record `now - sent_at` for each request whose JSON body has a `sent_at` field."""


@dataclass
class Report:
    """What the receiver counted since it started or was last reset."""

    requests: int = 0
    """Every request answered."""
    with_id: int = 0
    """Requests that carried a `webhook-id` header (only when counting ids)."""
    distinct_ids: int = 0
    duplicates: int = 0
    """Requests beyond the first for their `webhook-id`."""
    most_for_one_id: int = 0
    latencies: list[float] = field(default_factory=list)
    """Seconds from `sent_at` to the request's arrival, in arrival order."""


class _State:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.ids: Counter[str] = Counter()
        self.latencies: list[float] = []

    def report(self) -> Report:
        counts = self.ids.values()
        return Report(
            requests=self.requests,
            with_id=sum(counts),
            distinct_ids=len(self.ids),
            duplicates=sum(c - 1 for c in counts if c > 1),
            most_for_one_id=max(counts, default=0),
            latencies=list(self.latencies),
        )


def _handler(state: _State) -> Any:
    options = state.options

    async def answer(request: web.Request) -> web.Response:
        body = await request.read()
        state.requests += 1
        if options.latency:
            arrived = time.time()
            with suppress(ValueError, TypeError, KeyError, AttributeError):
                sent = float(json.loads(body)["sent_at"])
                if len(state.latencies) < _MAX_LATENCIES:
                    state.latencies.append(arrived - sent)
        if options.count_ids:
            webhook_id = request.headers.get("webhook-id")
            if webhook_id is not None:
                state.ids[webhook_id] += 1
        if options.delay > 0:
            await asyncio.sleep(options.delay)
        return web.Response(body=_ANSWER, content_type="application/json")

    return answer


async def _serve(parent: Connection, max_seconds: float, options: Options) -> None:
    state = _State(options)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _handler(state))
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=_BACKLOG)
        await site.start()
        parent.send(runner.addresses[0][1])
        stopped = asyncio.Event()

        def readable() -> None:
            # "report" and "reset" are answered; anything else, or the parent's end of
            # the pipe closing when it dies, stops the receiver.
            try:
                message = parent.recv()
            except (EOFError, OSError):
                stopped.set()
                return
            if message == "report":
                parent.send(state.report())
            elif message == "reset":
                state.reset()
                parent.send("reset")
            else:
                stopped.set()

        asyncio.get_running_loop().add_reader(parent.fileno(), readable)
        with suppress(TimeoutError):
            await asyncio.wait_for(stopped.wait(), max_seconds)
    finally:
        await runner.cleanup()


def _main(parent: Connection, max_seconds: float, options: Options) -> None:
    asyncio.run(_serve(parent, max_seconds, options))


class Receiver:
    """A running receiver process: its base URL, and what it counted when asked."""

    def __init__(self, base: str, pipe: Connection) -> None:
        self.base = base
        self._pipe = pipe

    def report(self) -> Report:
        """What it counted since it started or was last reset."""
        self._pipe.send("report")
        if not self._pipe.poll(_REPORT_TIMEOUT):
            raise RuntimeError(f"the receiver did not report within {_REPORT_TIMEOUT:.0f} s")
        report: Report = self._pipe.recv()
        return report

    def reset(self) -> None:
        """Forget what was counted so far."""
        self._pipe.send("reset")
        if not self._pipe.poll(_REPORT_TIMEOUT):
            raise RuntimeError(f"the receiver did not reset within {_REPORT_TIMEOUT:.0f} s")
        self._pipe.recv()


@contextmanager
def process(*, max_seconds: float, options: Options | None = None) -> Iterator[Receiver]:
    """Start a receiver process with `options`; yields it.

    The process stops when the block exits, when this process dies, or after
    `max_seconds`, whichever comes first.
    """
    # spawn, not fork: a forked child would inherit this process's event loop state.
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(
        target=_main,
        args=(theirs, max_seconds, options or Options()),
        name="bench-receiver",
        daemon=True,
    )
    process.start()
    theirs.close()
    try:
        if not ours.poll(_START_TIMEOUT):
            raise RuntimeError(f"the receiver did not start within {_START_TIMEOUT:.0f} s")
        try:
            port = ours.recv()
        except EOFError:
            raise RuntimeError(f"the receiver exited with {process.exitcode}") from None
        yield Receiver(f"http://127.0.0.1:{port}", ours)
    finally:
        with suppress(OSError):
            ours.send("stop")
        ours.close()
        process.join(10)
        if process.is_alive():
            process.terminate()
            process.join(5)


@contextmanager
def running(*, max_seconds: float, delay: float = 0.0) -> Iterator[str]:
    """Start a receiver process; yields its base URL (`http://127.0.0.1:PORT`).

    It answers every request after `delay` seconds (at once by default). The process
    stops when the block exits, when this process dies, or after `max_seconds`,
    whichever comes first.
    """
    with process(max_seconds=max_seconds, options=Options(delay=delay)) as receiver:
        yield receiver.base
