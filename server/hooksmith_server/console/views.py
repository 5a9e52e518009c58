"""What the console's templates show, computed from domain values: no I/O here."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hooksmith_server import domain, errors

CHART_HOURS = 24
BAR_WIDTH = 8
BAR_GAP = 2
CHART_HEIGHT = 40
_FIRST = (domain.MessageStatus.SUCCEEDED, domain.MessageStatus.FAILED, domain.MessageStatus.PENDING)
STATUSES = (*_FIRST, *(s for s in domain.MessageStatus if s not in _FIRST))
"""Every status, in the order of the history's tabs and the chart's stacks."""
_MAX_JSON_CHARS = 256 * 1024


def when(value: datetime | None) -> str:
    """A time as the console shows it: UTC, to the second."""
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def took(value: timedelta | None) -> str:
    if value is None:
        return "—"
    ms = value.total_seconds() * 1000
    return f"{ms:,.0f} ms" if ms < 10_000 else f"{ms / 1000:,.1f} s"


def pretty(body: str) -> str:
    """A JSON body indented for reading; any other body as it is."""
    if not body or len(body) > _MAX_JSON_CHARS:
        return body
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return body


@dataclass(frozen=True)
class Bar:
    x: int
    y: float
    height: float
    kind: str
    title: str


@dataclass(frozen=True)
class Activity:
    """One webhook's last 24 hours: totals and a stacked bar per hour, oldest first."""

    totals: Mapping[str, int]
    """Messages by status (`succeeded`, `failed`, ...), every status present."""
    bars: tuple[Bar, ...]
    width: int = CHART_HOURS * (BAR_WIDTH + BAR_GAP)
    height: int = CHART_HEIGHT


def activity(counts: Iterable[domain.HourlyCount]) -> dict[uuid.UUID, Activity]:
    """Each webhook's activity from the grouped counts of its last 24 hours."""
    per: dict[uuid.UUID, dict[int, dict[domain.MessageStatus, int]]] = {}
    for c in counts:
        if 0 <= c.hours_ago < CHART_HOURS:
            hours = per.setdefault(c.webhook_id, {})
            by_status = hours.setdefault(c.hours_ago, {})
            by_status[c.status] = by_status.get(c.status, 0) + c.count
    return {webhook_id: _chart(hours) for webhook_id, hours in per.items()}


def _chart(hours: Mapping[int, Mapping[domain.MessageStatus, int]]) -> Activity:
    tallest = max((sum(h.values()) for h in hours.values()), default=0) or 1
    bars: list[Bar] = []
    totals = {status.value.lower(): 0 for status in STATUSES}
    for hours_ago, by_status in hours.items():
        x = (CHART_HOURS - 1 - hours_ago) * (BAR_WIDTH + BAR_GAP)
        bottom = float(CHART_HEIGHT)
        ago = "the last hour" if hours_ago == 0 else f"{hours_ago}–{hours_ago + 1} h ago"
        for status in STATUSES:
            kind = status.value.lower()
            n = by_status.get(status, 0)
            totals[kind] += n
            if n == 0:
                continue
            height = max(1.0, CHART_HEIGHT * n / tallest)
            bottom -= height
            bars.append(Bar(x, round(bottom, 2), round(height, 2), kind, f"{n} {kind}, {ago}"))
    return Activity(totals=totals, bars=tuple(bars))


@dataclass(frozen=True)
class Health:
    state: str
    """`healthy`, `failing` or `paused`."""
    text: str
    last_error: str | None


def health(value: domain.DestinationHealth | None, now: datetime) -> Health:
    if value is None or (value.consecutive_failures == 0 and value.paused_until is None):
        return Health("healthy", "healthy", None)
    if value.paused_until is not None and value.paused_until > now:
        return Health("paused", f"paused until {when(value.paused_until)}", value.last_error)
    n = value.consecutive_failures
    return Health(
        "failing", f"{n} failed attempt{'s' if n != 1 else ''} in a row", value.last_error
    )


def json_object(text: str, field: str) -> dict[str, Any]:
    """A JSON object typed into a form; empty is `{}`. Values the store cannot keep (NUL
    characters, NaN and Infinity) are refused, naming the field."""
    if not text.strip():
        return {}
    if len(text) > _MAX_JSON_CHARS:
        raise errors.InvalidArgument.field(field, f"is longer than {_MAX_JSON_CHARS:,} characters")

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not a JSON number; numbers must be finite")

    try:
        value = json.loads(text, parse_constant=refuse)
    except RecursionError:
        raise errors.InvalidArgument.field(field, "is nested too deeply") from None
    except ValueError as e:
        raise errors.InvalidArgument.field(field, f"is not valid JSON: {e}") from None
    if not isinstance(value, dict):
        raise errors.InvalidArgument.field(field, 'must be a JSON object, like {"key": "value"}')
    _storable(value, field)
    return value


def _storable(value: Any, path: str) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise errors.InvalidArgument.field(path, "must not contain NUL characters (\\u0000)")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise errors.InvalidArgument.field(path, "numbers must be finite")
    elif isinstance(value, dict):
        for k, v in value.items():
            _storable(k, path)
            _storable(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _storable(v, f"{path}[{i}]")


def label(text: str) -> dict[str, str]:
    """The label filter, `key=value`; empty is no filter."""
    text = text.strip()
    if not text:
        return {}
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise errors.InvalidArgument.field("label", f"{text!r} is not key=value")
    return {key.strip(): value.strip()}


def moment(text: str, field: str) -> datetime | None:
    """A time from a `datetime-local` input, read as UTC; empty is no bound."""
    text = text.strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise errors.InvalidArgument.field(
            field, f"{text!r} is not a date and time like 2026-01-31T14:30"
        ) from None
    return value.replace(tzinfo=UTC) if value.utcoffset() is None else value.astimezone(UTC)
