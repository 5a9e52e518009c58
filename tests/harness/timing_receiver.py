"""A receiver in a process of its own that notes when each request arrives.

Timing tests measure arrival times here rather than in the test process, whose event
loop also runs the server under test and would read several requests in one turn.

    python -m tests.harness.timing_receiver OUT   # prints its port; on SIGTERM writes
                                                  # one arrival time (time.time()) a line
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

from aiohttp import web


async def serve(out: Path) -> None:
    arrivals: list[float] = []

    async def answer(request: web.Request) -> web.Response:
        arrivals.append(time.time())
        await request.read()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
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


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1])))
