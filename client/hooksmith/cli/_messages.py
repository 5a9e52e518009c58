"""`hooksmith send-test`, `send`, `history`, `message`, `retry`, `retry-failed`,
`purge-user` and `alerts`."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from hooksmith import errors
from hooksmith.cli import _recipients as csv_rows
from hooksmith.cli._context import Context
from hooksmith.cli._inputs import UsageError, labels, point_in_time
from hooksmith.cli._output import (
    as_dict,
    dumps,
    kind,
    one_line,
    outcome,
    request_lines,
    response_lines,
    side_by_side,
    status,
    table,
    terminal_width,
    when,
)
from hooksmith.cli._progress import Progress
from hooksmith.cli._webhooks import data, recipient
from hooksmith.v1 import webhooks_pb2 as pb

# Exit status of send-test when the call worked but a test delivery failed.
TEST_FAILED = 3
MAX_TEST_RECIPIENTS = 20
RUN_LABEL = "run"

STATUSES = {
    "pending": pb.MESSAGE_STATUS_PENDING,
    "succeeded": pb.MESSAGE_STATUS_SUCCEEDED,
    "failed": pb.MESSAGE_STATUS_FAILED,
    "skipped": pb.MESSAGE_STATUS_SKIPPED,
}
KINDS = {"test": pb.MESSAGE_KIND_TEST, "live": pb.MESSAGE_KIND_LIVE}


def send_test(ctx: Context, args: argparse.Namespace) -> int:
    values = data(args)
    if args.recipients is not None:
        if args.user or args.tags or args.tag or args.entry_event:
            raise UsageError(
                "--recipients and --user/--tags/--tag/--entry-event exclude each other"
            )
        rows = csv_rows.read_rows(args.recipients)
        if len(rows) > MAX_TEST_RECIPIENTS:
            raise UsageError(
                f"{args.recipients}: {len(rows)} rows; a test send takes at most "
                f"{MAX_TEST_RECIPIENTS} (use send for more)"
            )
        plan = csv_rows.batches(rows, values, "test", MAX_TEST_RECIPIENTS)
        if len(plan) > 1:
            raise UsageError(
                f"{args.recipients}: the rows' data columns differ; a test send has one data"
            )
        people = [row.recipient() for row in plan[0].rows]
        values = plan[0].data
    elif args.user:
        people = [recipient(args, user_id) for user_id in args.user]
    else:
        raise UsageError("send-test needs --user USER_ID (one or more) or --recipients FILE")
    response = ctx.client.send_test(args.webhook_id, people, data=values)
    # A recipient the template skipped ({% skip %}) is an outcome, not a failure.
    done = (pb.MESSAGE_STATUS_SUCCEEDED, pb.MESSAGE_STATUS_SKIPPED)
    failed = any(m.status not in done for m in response.messages)
    if ctx.json:
        ctx.emit(response)
    else:
        rows_out = [
            (m.user_id, status(m.status), one_line(outcome(m), 60), m.id) for m in response.messages
        ]
        ctx.print(table(("USER", "STATUS", "RESULT", "MESSAGE"), rows_out))
        ctx.note("hooksmith message ID shows each request and response")
    return TEST_FAILED if failed else 0


def send(ctx: Context, args: argparse.Namespace) -> int:
    rows = csv_rows.read_rows(args.recipients)
    values = data(args)
    run_id = csv_rows.check_run_id(
        args.run_id or csv_rows.default_run_id(args.webhook_id, rows, values)
    )
    tags = labels(args.label)
    tags.setdefault(RUN_LABEL, run_id)
    plan = csv_rows.batches(rows, values, run_id, args.batch_size)
    show = args.progress if args.progress is not None else (ctx.err.isatty() and not ctx.json)
    progress = Progress(len(rows), ctx.err, f"sending {run_id}", in_place=ctx.err.isatty())
    sent: list[dict[str, Any]] = []
    try:
        for batch in plan:
            response = ctx.client.send(
                args.webhook_id,
                [row.recipient() for row in batch.rows],
                data=batch.data,
                idempotency_key=batch.key,
                labels=tags,
            )
            for row, message_id in zip(batch.rows, response.message_ids, strict=True):
                sent.append({"line": row.line, "userId": row.user_id, "messageId": message_id})
            if show:
                progress.advance(len(batch.rows))
    except (errors.HooksmithError, KeyboardInterrupt):
        if show:
            progress.close()
        ctx.note(
            f"stopped after {len(sent)} of {len(rows)} rows; run the same command again "
            f"(run id {run_id}) to send the rest: rows already sent are not sent twice"
        )
        raise
    if show:
        progress.close()
    if ctx.json:
        ctx.print(
            dumps(
                {
                    "runId": run_id,
                    "webhookId": args.webhook_id,
                    "rows": len(rows),
                    "batches": len(plan),
                    "messages": sorted(sent, key=lambda s: int(s["line"])),
                }
            )
        )
        return 0
    ctx.print(
        f"run {run_id}: {len(rows)} rows in {len(plan)} batches to webhook {args.webhook_id}; "
        "every row has its message (rows sent by an earlier try of this run kept theirs)"
    )
    ctx.print(
        f"watch them: hooksmith history --webhook {args.webhook_id} --label {RUN_LABEL}={run_id}"
    )
    return 0


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "webhook_id": args.webhook or "",
        "statuses": [STATUSES[s] for s in args.status or ()],
        "kind": KINDS[args.kind] if args.kind else pb.MESSAGE_KIND_UNSPECIFIED,
        "user_id": args.user or "",
        "labels": labels(args.label),
        "start_time": point_in_time(args.since, "--since", now) if args.since else None,
        "end_time": point_in_time(args.until, "--until", now) if args.until else None,
    }


def _row(m: pb.Message) -> tuple[str, ...]:
    return (
        when(m.create_time),
        m.id,
        status(m.status),
        kind(m.kind),
        str(m.attempt_count),
        one_line(m.user_id, 32),
        one_line(outcome(m), 60),
    )


HEADERS = ("CREATED", "MESSAGE", "STATUS", "KIND", "TRIES", "USER", "RESULT")
FOLLOW_WIDTHS = (20, 36, 9, 4, 5, 24)
FOLLOW_SLACK_MICROS = 5_000_000


def _fixed(cells: tuple[str, ...]) -> str:
    padded = [c.ljust(w) for c, w in zip(cells[:-1], FOLLOW_WIDTHS, strict=True)]
    return "  ".join([*padded, cells[-1]]).rstrip()


def _newest(ctx: Context, filters: dict[str, Any], limit: int) -> list[pb.Message]:
    found: list[pb.Message] = []
    page_size = min(limit, 100) if limit else 100
    for message in ctx.client.iter_history(page_size=page_size, **filters):
        found.append(message)
        if limit and len(found) >= limit:
            break
    return found


def history(ctx: Context, args: argparse.Namespace) -> int:
    filters = _filters(args)
    if args.follow:
        return _follow(ctx, args, filters)
    found = _newest(ctx, filters, args.limit)
    if ctx.json:
        ctx.print(dumps({"messages": [as_dict(m) for m in found]}))
        return 0
    if not found:
        ctx.print("no messages match")
        return 0
    ctx.print(table(HEADERS, [_row(m) for m in found]))
    return 0


def _follow(ctx: Context, args: argparse.Namespace, filters: dict[str, Any]) -> int:
    """Print the newest matching messages oldest first, then every new one as it is created
    and every listed pending one again when it finishes, until interrupted."""

    def show(m: pb.Message) -> None:
        if ctx.json:
            ctx.print(dumps(as_dict(m), compact=True))
        else:
            ctx.print(_fixed(_row(m)))

    # id -> (status, create time in microseconds) of what was printed and may change.
    seen: dict[str, tuple[int, int]] = {}

    def micros(m: pb.Message) -> int:
        return int(m.create_time.ToMicroseconds())

    first = _newest(ctx, filters, args.limit)
    if not ctx.json:
        ctx.print(_fixed(HEADERS))
    for m in reversed(first):
        show(m)
        seen[m.id] = (m.status, micros(m))
    floor = min((micros(m) for m in first), default=None)
    newest = max((micros(m) for m in first), default=None)
    try:
        while True:
            time.sleep(args.interval)
            pending = [t for s, t in seen.values() if s == pb.MESSAGE_STATUS_PENDING]
            candidates = [t for t in (min(pending, default=None), newest) if t is not None]
            # Messages get their create time before they commit, so one created a moment
            # before the newest seen may appear after it: the window reaches back a little.
            low = min(candidates) - FOLLOW_SLACK_MICROS if candidates else None
            window = dict(filters)
            if low is not None:
                start = datetime.fromtimestamp(low / 1e6, UTC)
                if filters["start_time"] is None or start > filters["start_time"]:
                    window["start_time"] = start
            for m in reversed(list(ctx.client.iter_history(page_size=100, **window))):
                t = micros(m)
                before = seen.get(m.id)
                if before is None and floor is not None and t < floor:
                    continue  # older than what was listed first: not new
                if before is None or before[0] != m.status:
                    show(m)
                seen[m.id] = (m.status, t)
                newest = t if newest is None else max(newest, t)
            if low is not None:
                seen = {k: v for k, v in seen.items() if v[1] >= low}
    except KeyboardInterrupt:
        return 0


def _attempts(m: pb.Message) -> Iterator[tuple[str, list[str], list[str]]]:
    for a in m.attempts:
        trigger = pb.AttemptTrigger.Name(a.trigger).removeprefix("ATTEMPT_TRIGGER_").lower()
        title = f"attempt {a.number} · {trigger} · {when(a.start_time)}"
        if a.HasField("duration"):
            title += f" · {a.duration.ToMilliseconds()} ms"
        yield title, request_lines(a.request), response_lines(a)


def message(ctx: Context, args: argparse.Namespace) -> int:
    m = ctx.client.get_message(args.id)
    if ctx.json:
        ctx.emit(m)
        return 0
    facts = [
        ("message", m.id),
        ("webhook", f"{m.webhook_id} (version {m.webhook_version})"),
        ("user", m.user_id),
        ("kind", kind(m.kind)),
        ("status", status(m.status)),
        ("attempts", str(m.attempt_count)),
        ("labels", ", ".join(f"{k}={v}" for k, v in sorted(m.labels.items()))),
        ("created", when(m.create_time)),
        ("updated", when(m.update_time)),
        ("next attempt", when(m.next_attempt_time, present=m.HasField("next_attempt_time"))),
        ("error", m.error),
    ]
    width = max(len(name) for name, _ in facts)
    ctx.print("\n".join(f"{name.ljust(width)}  {value}" for name, value in facts if value))
    columns = terminal_width()
    for title, request, response in _attempts(m):
        ctx.print()
        ctx.print(title)
        ctx.print("\n".join(side_by_side(["REQUEST", *request], ["RESPONSE", *response], columns)))
    if not m.attempts:
        ctx.print()
        ctx.print("no attempt yet")
    return 0


def retry(ctx: Context, args: argparse.Namespace) -> int:
    m = ctx.client.retry(args.id)
    if ctx.json:
        ctx.emit(m)
        return 0
    ctx.print(f"retry of message {m.id} queued; status {status(m.status)}")
    return 0


def retry_failed(ctx: Context, args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    start = point_in_time(args.since, "--since", now)
    end = point_in_time(args.until, "--until", now) if args.until else now
    retried = ctx.client.retry_failed(args.id, start, end, request_id=args.request_id or "")
    if ctx.json:
        ctx.emit(pb.RetryFailedResponse(retried_messages=retried))
        return 0
    ctx.print(
        f"queued a manual attempt of {retried} failed message(s) of webhook {args.id} "
        f"created from {start.isoformat(timespec='seconds')} to {end.isoformat(timespec='seconds')}"
    )
    return 0


def alerts_get(ctx: Context, args: argparse.Namespace) -> int:
    settings = ctx.client.get_alert_settings()
    if ctx.json:
        ctx.emit(settings)
        return 0
    if not settings.url:
        ctx.print("no alert URL: the workspace records no alerts")
        return 0
    ctx.print(f"url             {settings.url}")
    ctx.print(f"signing secret  {settings.signing_secret}")
    return 0


def alerts_set(ctx: Context, args: argparse.Namespace) -> int:
    settings = ctx.client.update_alert_settings(args.url)
    if ctx.json:
        ctx.emit(settings)
        return 0
    if not settings.url:
        ctx.print("alert URL cleared: the workspace records no alerts")
        return 0
    ctx.print(f"alerts go to {settings.url}, signed with {settings.signing_secret}")
    return 0


def purge_user(ctx: Context, args: argparse.Namespace) -> int:
    purged = ctx.client.purge_user(args.user_id)
    if ctx.json:
        ctx.emit(pb.PurgeUserResponse(purged_messages=purged))
        return 0
    ctx.print(f"purged the personal data of user {args.user_id} from {purged} message(s)")
    return 0
