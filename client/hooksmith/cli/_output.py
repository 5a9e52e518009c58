"""What the commands print: JSON for scripts, tables and side-by-side columns for people."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Iterable, Sequence
from datetime import UTC
from typing import Any

from google.protobuf import json_format, message, timestamp_pb2

from hooksmith.v1 import webhooks_pb2 as pb


def as_dict(value: message.Message) -> dict[str, Any]:
    """The proto's JSON form with every field present, so scripts can rely on the keys."""
    return json_format.MessageToDict(value, always_print_fields_with_no_presence=True)


def dumps(value: object, *, compact: bool = False) -> str:
    if compact:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(value, ensure_ascii=False, indent=2)


def when(value: timestamp_pb2.Timestamp, *, present: bool = True) -> str:
    """A timestamp in UTC, to the second; empty when unset."""
    if not present or (value.seconds == 0 and value.nanos == 0):
        return ""
    return value.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def enum_name(full: str, prefix: str) -> str:
    """MESSAGE_STATUS_FAILED -> failed."""
    return full.removeprefix(prefix).lower()


def status(value: pb.MessageStatus.ValueType) -> str:
    return enum_name(pb.MessageStatus.Name(value), "MESSAGE_STATUS_")


def kind(value: pb.MessageKind.ValueType) -> str:
    return enum_name(pb.MessageKind.Name(value), "MESSAGE_KIND_")


def state(value: pb.WebhookState.ValueType) -> str:
    return enum_name(pb.WebhookState.Name(value), "WEBHOOK_STATE_")


def method(value: pb.HttpMethod.ValueType) -> str:
    return "POST" if value == pb.HTTP_METHOD_UNSPECIFIED else pb.HttpMethod.Name(value)[12:]


def outcome(msg: pb.Message) -> str:
    """What the last attempt came to: the status code, the error, or when the next is due."""
    parts = []
    if msg.HasField("response"):
        parts.append(f"HTTP {msg.response.status_code}")
    if msg.error:
        parts.append(msg.error)
    if not parts and msg.status == pb.MESSAGE_STATUS_PENDING and msg.HasField("next_attempt_time"):
        parts.append(f"next attempt {when(msg.next_attempt_time)}")
    return " · ".join(parts)


def one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Left-aligned columns two spaces apart; the last column is not padded."""
    cells = [list(headers), *[list(r) for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for r in cells:
        padded = [c.ljust(w) for c, w in zip(r[:-1], widths[:-1], strict=True)]
        lines.append("  ".join([*padded, r[-1]]).rstrip())
    return "\n".join(lines)


def terminal_width() -> int:
    return max(60, shutil.get_terminal_size((160, 40)).columns)


def wrap(lines: Iterable[str], width: int) -> list[str]:
    result: list[str] = []
    for line in lines:
        expanded = line.expandtabs(4)
        result.extend(
            textwrap.wrap(
                expanded,
                width,
                drop_whitespace=False,
                replace_whitespace=False,
                break_on_hyphens=False,
            )
            or [""]
        )
    return result


def side_by_side(left: Sequence[str], right: Sequence[str], width: int) -> list[str]:
    """Two columns of wrapped lines separated by " │ "."""
    column = (width - 3) // 2
    a, b = wrap(left, column), wrap(right, column)
    rows = max(len(a), len(b))
    a += [""] * (rows - len(a))
    b += [""] * (rows - len(b))
    return [f"{x.ljust(column)} │ {y}".rstrip() for x, y in zip(a, b, strict=True)]


def request_lines(request: pb.HttpRequest) -> list[str]:
    lines = [f"{request.method} {request.url}"]
    lines += [f"{h.name}: {h.value}" for h in request.headers]
    if request.body:
        lines += ["", *request.body.splitlines()]
    return lines


def response_lines(attempt: pb.Attempt | pb.Message) -> list[str]:
    lines: list[str] = []
    if attempt.HasField("response"):
        response = attempt.response
        lines.append(f"HTTP {response.status_code}")
        lines += [f"{h.name}: {h.value}" for h in response.headers]
        if response.body:
            lines += ["", *response.body.splitlines()]
        if response.body_truncated:
            lines.append("(body truncated at 64 KiB)")
    else:
        lines.append("(no response)")
    if attempt.error:
        lines += ["", f"error: {attempt.error}"]
    return lines
