"""`hooksmith outcomes`: messages as they finish, from WatchOutcomes, until interrupted."""

from __future__ import annotations

import argparse

from hooksmith.cli._context import Context
from hooksmith.cli._inputs import labels
from hooksmith.cli._output import as_dict, dumps, kind, one_line, status, when
from hooksmith.v1 import webhooks_pb2 as pb

HEADERS = ("FINISHED", "MESSAGE", "STATUS", "KIND", "CODE", "USER", "RESULT", "CURSOR")
WIDTHS = (20, 36, 9, 4, 4, 24, 40)


def _result(o: pb.Outcome) -> str:
    if o.captured:
        return " ".join(f"{k}={v}" for k, v in sorted(o.captured.items()))
    return o.error


def _line(cells: tuple[str, ...]) -> str:
    padded = [c.ljust(w) for c, w in zip(cells[:-1], WIDTHS, strict=True)]
    return "  ".join([*padded, cells[-1]]).rstrip()


def outcomes(ctx: Context, args: argparse.Namespace) -> int:
    stream = ctx.client.watch_outcomes(
        webhook_ids=args.webhook or (),
        labels=labels(args.label),
        after_cursor=args.after or "",
        include_test=args.include_test,
    )
    if not ctx.json:
        ctx.print(_line(HEADERS))
    shown = 0
    try:
        for o in stream:
            if ctx.json:
                ctx.print(dumps(as_dict(o), compact=True))
            else:
                ctx.print(
                    _line(
                        (
                            when(o.finish_time),
                            o.message_id,
                            status(o.status),
                            kind(o.kind),
                            str(o.status_code or ""),
                            one_line(o.user_id, 24),
                            one_line(_result(o), 40),
                            o.cursor,
                        )
                    )
                )
            shown += 1
            if args.limit and shown >= args.limit:
                return 0
    finally:
        stream.close()
    return 0
