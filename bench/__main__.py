"""`python -m bench [--quick] [NAME ...]`: run the benchmarks and print their tables.

Exits 0 whatever the ratios are: benchmarks inform, they do not fail. A benchmark
that cannot run at all (an exception) is reported and makes the exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence

from bench import (
    backlog_memory,
    deliver,
    egress,
    history_page,
    intake,
    lanes,
    latency,
    render,
    send,
    slow_receiver,
    workers,
)
from bench.database import Postgres
from bench.harness import Context
from bench.report import Table, format_table

Benchmark = Callable[[Context], Awaitable[list[Table]]]

BENCHMARKS: dict[str, Benchmark] = {
    egress.NAME: egress.run,
    render.NAME: render.run,
    send.NAME: send.run,
    deliver.NAME: deliver.run,
    lanes.NAME: lanes.run,
    intake.NAME: intake.run,
    slow_receiver.NAME: slow_receiver.run,
    latency.NAME: latency.run,
    backlog_memory.NAME: backlog_memory.run,
    workers.NAME: workers.run,
    history_page.NAME: history_page.run,
}


async def _run(ctx: Context, names: Sequence[str]) -> int:
    status = 0
    for name in names:
        started = time.monotonic()
        try:
            tables = await BENCHMARKS[name](ctx)
        except Exception:
            traceback.print_exc()
            print(f"[{name}] could not run\n", flush=True)
            status = 1
            continue
        for table in tables:
            print(format_table(table), end="\n\n", flush=True)
        print(f"[{name}: {time.monotonic() - started:.1f} s]\n", flush=True)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Rates against ceilings measured in the same run, and their ratios.",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="short bounds: under a minute")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    url = os.environ.get("HOOKSMITH_TEST_DATABASE_URL") or os.environ.get("HOOKSMITH_DATABASE_URL")
    ctx = Context(quick=args.quick, postgres=Postgres(url or None))
    started = time.monotonic()
    status = asyncio.run(_run(ctx, args.names or list(BENCHMARKS)))
    print(f"[total: {time.monotonic() - started:.1f} s]", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
