"""A webhook receiver in its own process: aiohttp.web on 127.0.0.1, answering 200 at once.

Its own process so that the sender under test has the event loop and a CPU core to
itself, as it would against a real receiver on another host.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from multiprocessing.connection import Connection

from aiohttp import web

_ANSWER = b'{"ok":true}'
# Enough for every connection of the largest benchmark to be accepted at once;
# aiohttp's default of 128 would drop SYNs and stall clients for a second.
_BACKLOG = 2048
_START_TIMEOUT = 30.0


async def _answer(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=_ANSWER, content_type="application/json")


async def _serve(parent: Connection, max_seconds: float) -> None:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _answer)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=_BACKLOG)
        await site.start()
        parent.send(runner.addresses[0][1])
        stopped = asyncio.Event()
        # Any message from the parent, or its end of the pipe closing when it dies.
        asyncio.get_running_loop().add_reader(parent.fileno(), stopped.set)
        with suppress(TimeoutError):
            await asyncio.wait_for(stopped.wait(), max_seconds)
    finally:
        await runner.cleanup()


def _main(parent: Connection, max_seconds: float) -> None:
    asyncio.run(_serve(parent, max_seconds))


@contextmanager
def running(*, max_seconds: float) -> Iterator[str]:
    """Start a receiver process; yields its base URL (`http://127.0.0.1:PORT`).

    The process stops when the block exits, when this process dies, or after
    `max_seconds`, whichever comes first.
    """
    # spawn, not fork: a forked child would inherit this process's event loop state.
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(
        target=_main, args=(theirs, max_seconds), name="bench-receiver", daemon=True
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
        yield f"http://127.0.0.1:{port}"
    finally:
        with suppress(OSError):
            ours.send("stop")
        ours.close()
        process.join(10)
        if process.is_alive():
            process.terminate()
            process.join(5)
