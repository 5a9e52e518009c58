"""Liquid-style filters for marketers' templates.

Where a name clashes with a Jinja built-in (`default`, `truncate`, `replace`,
`capitalize`), the Liquid meaning wins: marketers come from Liquid-based tools.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Undefined, pass_environment

from hooksmith_server.rendering.jinja import sizes
from hooksmith_server.rendering.jinja.sandbox import BoundedSandbox
from hooksmith_server.rendering.jinja.values import normalise, to_text

_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


class FilterError(ValueError):
    """A filter was given something it cannot work with."""


def _is_blank(value: Any) -> bool:
    return value is None or isinstance(value, Undefined)


def default(value: Any, default_value: Any = "", allow_false: bool = False) -> Any:
    """`default_value` when `value` is undefined, None, False or empty."""
    if _is_blank(value):
        return default_value
    if value is False and not allow_false:
        return default_value
    if isinstance(value, str | list | tuple | Mapping) and len(value) == 0:
        return default_value
    return value


@pass_environment
def truncate(
    environment: BoundedSandbox, value: Any, length: int = 50, ellipsis: str = "..."
) -> str:
    """At most `length` characters, the ellipsis included."""
    text = to_text(value, environment.max_output)
    length = max(int(length), 0)
    if len(text) <= length:
        return text
    ellipsis = to_text(ellipsis, environment.max_output)
    return (text[: max(length - len(ellipsis), 0)] + ellipsis)[:length]


@pass_environment
def truncatewords(
    environment: BoundedSandbox, value: Any, words: int = 15, ellipsis: str = "..."
) -> str:
    """The first `words` words, then the ellipsis if there were more."""
    text = to_text(value, environment.max_output)
    parts = text.split()
    words = max(int(words), 1)
    if len(parts) <= words:
        return text
    return " ".join(parts[:words]) + to_text(ellipsis, environment.max_output)


def _checked_replace(environment: BoundedSandbox, text: str, old: str, new: str, count: int) -> str:
    # An empty `old` would insert `new` between every character.
    if not old:
        return text
    occurrences = text.count(old) if count < 0 else min(text.count(old), count)
    size = len(text) + occurrences * (len(new) - len(old))
    limit = environment.max_output
    if size > limit:
        raise FilterError(f"replace would produce {size:,} characters; the limit is {limit:,}")
    return text.replace(old, new, count)


@pass_environment
def replace(environment: BoundedSandbox, value: Any, old: Any, new: Any = "") -> str:
    """Every occurrence of `old` replaced by `new`."""
    limit = environment.max_output
    text, old, new = (to_text(part, limit) for part in (value, old, new))
    return _checked_replace(environment, text, old, new, -1)


@pass_environment
def replace_first(environment: BoundedSandbox, value: Any, old: Any, new: Any = "") -> str:
    """The first occurrence of `old` replaced by `new`."""
    limit = environment.max_output
    text, old, new = (to_text(part, limit) for part in (value, old, new))
    return _checked_replace(environment, text, old, new, 1)


@pass_environment
def upcase(environment: BoundedSandbox, value: Any) -> str:
    """Upper case."""
    return to_text(value, environment.max_output).upper()


@pass_environment
def downcase(environment: BoundedSandbox, value: Any) -> str:
    """Lower case."""
    return to_text(value, environment.max_output).lower()


@pass_environment
def capitalize(environment: BoundedSandbox, value: Any) -> str:
    """First character upper case, the rest lower case."""
    text = to_text(value, environment.max_output)
    return text[:1].upper() + text[1:].lower()


def _to_number(value: Any) -> int | float | Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return int(value) if value.is_integer() else value
    if isinstance(value, str) and _PLAIN_NUMBER.fullmatch(value.strip()):
        # Decimal keeps the digits as written: "1234567.50" stays "1,234,567.50".
        return Decimal(value.strip())
    return None


@pass_environment
def number_with_delimiter(environment: BoundedSandbox, value: Any) -> str:
    """Thousands separated by commas: 1234567 → 1,234,567; non-numbers unchanged."""
    number = _to_number(value)
    if number is None:
        return to_text(value, environment.max_output)
    return f"{number:,}"


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            moment = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise FilterError(f"date: {value!r} is out of range for epoch seconds") from exc
    elif isinstance(value, str):
        text = value.strip()
        if text.lower() == "now":
            moment = datetime.now(UTC)
        elif _PLAIN_NUMBER.fullmatch(text):
            return _to_datetime(float(text))
        else:
            try:
                moment = datetime.fromisoformat(text)
            except ValueError as exc:
                raise FilterError(
                    f"date: cannot read {value!r} as a date; "
                    "expected ISO-8601, epoch seconds or 'now'"
                ) from exc
    else:
        raise FilterError(f"date: cannot read a {type(value).__name__} as a date")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _zone(name: Any) -> ZoneInfo:
    if not isinstance(name, str):
        raise FilterError(f"date: time zone must be a name such as 'Asia/Seoul', not {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise FilterError(f"date: unknown time zone {name!r}") from exc


@pass_environment
def date_filter(environment: BoundedSandbox, value: Any, format: str, tz: Any = None) -> str:
    """`value` (ISO-8601, datetime, epoch seconds or "now") formatted with strftime `format`.

    Naive inputs are UTC; `tz` is an IANA zone name such as `Asia/Seoul`.
    """
    if _is_blank(value) or value == "":
        return ""
    limit = environment.max_output
    pattern = to_text(format, limit)
    size = sizes.strftime_size(pattern)
    if size > limit:
        raise FilterError(f"date would produce {size:,} characters; the limit is {limit:,}")
    moment = _to_datetime(normalise(value))
    if not _is_blank(tz):
        moment = moment.astimezone(_zone(tz))
    return moment.strftime(pattern)


FILTERS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {
        "default": default,
        "truncate": truncate,
        "truncatewords": truncatewords,
        "replace": replace,
        "replace_first": replace_first,
        "date": date_filter,
        "upcase": upcase,
        "downcase": downcase,
        "capitalize": capitalize,
        "number_with_delimiter": number_with_delimiter,
    }
)
"""The filters added to Jinja's built-ins, replacing those of the same name."""
