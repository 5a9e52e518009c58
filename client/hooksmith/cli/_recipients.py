"""Recipients from a CSV file, and the batches `send` makes of them.

The file has a header row. `user_id` is required; `tags.NAME` and `entry_event.NAME`
columns fill the recipient (`{{ tags.NAME }}`), `data.NAME` columns the data of that row
(`{{ NAME }}`). Dots nest: `tags.address.city`. Cells are strings.

Resuming: each batch is sent with the idempotency key `RUN:DIGEST`, where DIGEST is a
digest of the row's data. The server keeps one message per webhook, key and user, so a
run sent again (after an interruption, a crash or a lost answer) returns the messages
already stored and sends nothing twice, however the rows fall into batches.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hooksmith.cli._inputs import UsageError, merged, put, read_text

USER_COLUMN = "user_id"
PREFIXES = ("tags.", "entry_event.", "data.")
MAX_RUN_ID_CHARS = 200  # the server takes keys of up to 256 characters; the digest adds 17
MAX_SEND_BATCH = 1000  # recipients per Send


@dataclass
class Row:
    """One line of the file: its number (the header is line 1), recipient and data."""

    line: int
    user_id: str
    tags: dict[str, Any] = field(default_factory=dict)
    entry_event: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    def recipient(self) -> dict[str, Any]:
        value: dict[str, Any] = {"user_id": self.user_id}
        if self.tags:
            value["tags"] = self.tags
        if self.entry_event:
            value["entry_event"] = self.entry_event
        return value


@dataclass
class Batch:
    """Rows sharing one data, sent in one Send with one idempotency key."""

    key: str
    data: dict[str, Any]
    rows: list[Row]


def read_rows(path: str) -> list[Row]:
    """Every row of the CSV file at `path` (`-` for standard input)."""
    source = "standard input" if path == "-" else path
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise UsageError(f"{source}: empty; expected a header row with {USER_COLUMN}") from None
    except csv.Error as e:
        raise UsageError(f"{source}: line 1: {e}") from None
    header = [name.strip() for name in header]
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    if USER_COLUMN not in header:
        raise UsageError(f"{source}: the header has no {USER_COLUMN} column")
    for name in header:
        if name != USER_COLUMN and not (name.startswith(PREFIXES) and "." in name):
            raise UsageError(
                f"{source}: column {name!r} is not {USER_COLUMN}, tags.NAME, "
                "entry_event.NAME or data.NAME"
            )
    duplicated = {name for name in header if header.count(name) > 1}
    if duplicated:
        raise UsageError(f"{source}: column {sorted(duplicated)[0]!r} appears twice")
    rows: list[Row] = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                raise UsageError(
                    f"{source}: line {line}: {len(cells)} cells, the header has {len(header)}"
                )
            values = dict(zip(header, cells, strict=True))
            user_id = values.pop(USER_COLUMN).strip()
            if not user_id:
                raise UsageError(f"{source}: line {line}: {USER_COLUMN} is empty")
            row = Row(line, user_id)
            for name, cell in values.items():
                group, _, rest = name.partition(".")
                put(getattr(row, group), rest, cell, f"{source}: column {name!r}")
            rows.append(row)
    except csv.Error as e:
        raise UsageError(f"{source}: line {reader.line_num}: {e}") from None
    if not rows:
        raise UsageError(f"{source}: no rows under the header")
    return rows


def digest(value: object) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def default_run_id(webhook_id: str, rows: Sequence[Row], data: Mapping[str, Any]) -> str:
    """The run of this webhook, file content and data: the same command again resumes it."""
    content = [[r.user_id, r.tags, r.entry_event, r.data] for r in rows]
    return "run-" + digest([webhook_id, content, dict(data)])[:16]


def check_run_id(run_id: str) -> str:
    if not run_id or len(run_id) > MAX_RUN_ID_CHARS:
        raise UsageError(f"--run-id must be 1 to {MAX_RUN_ID_CHARS} characters")
    return run_id


def batches(rows: Sequence[Row], data: Mapping[str, Any], run_id: str, size: int) -> list[Batch]:
    """Rows grouped by their data (`data` under each row's own data columns), in file
    order of each group's first row, and cut into batches of at most `size`."""
    groups: dict[str, Batch] = {}
    for row in rows:
        values = merged(data, row.data)
        key = f"{run_id}:{digest(values)[:16]}"
        groups.setdefault(key, Batch(key, values, [])).rows.append(row)
    result: list[Batch] = []
    for group in groups.values():
        for start in range(0, len(group.rows), size):
            result.append(Batch(group.key, group.data, group.rows[start : start + size]))
    return result
