"""A receiver in a process of its own that notes when each request arrives.

Timing tests measure arrival times here rather than in the test process, whose event
loop also runs the server under test and would read several requests in one turn. A
receiver that answers slowly runs here too, so that answering thousands of requests
does not take the server's event loop.

    python -m tests.harness.timing_receiver OUT [DELAY]
        prints its port; answers every request after DELAY seconds (default 0);
        `GET /_arrivals` answers how many requests arrived so far; on SIGTERM writes
        one arrival time (time.time()) a line to OUT
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

from aiohttp import web

COUNT_PATH = "/_arrivals"


async def serve(out: Path, delay: float) -> None:
    arrivals: list[float] = []

    async def answer(request: web.Request) -> web.Response:
        arrivals.append(time.time())
        await request.read()
        if delay:
            await asyncio.sleep(delay)
        return web.json_response({"ok": True})

    async def count(_: web.Request) -> web.Response:
        return web.json_response(len(arrivals))

    app = web.Application()
    app.router.add_get(COUNT_PATH, count)
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
    await site.start()
    print(runner.addresses[0][1], flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        # Bounded: a receiver whose test died stops by itself.
        await asyncio.wait_for(stop.wait(), 300)
    finally:
        await runner.cleanup()
    out.write_text("".join(f"{t}\n" for t in arrivals))  # noqa: ASYNC240 - the loop is done


def start(out: Path, delay: float = 0.0) -> tuple[subprocess.Popen[bytes], int]:
    """A timing receiver process and its port; terminate it to have OUT written."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.harness.timing_receiver", str(out), str(delay)],
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    process.stdout.close()
    return process, port


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 0.0))
