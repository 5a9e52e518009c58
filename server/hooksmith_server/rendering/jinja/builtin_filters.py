"""Jinja's built-in filters that take a size, with the size checked before they run.

`center(300000000)` or `batch(10 ** 9, 0)` would build hundreds of megabytes before the
output budget could see any of it; these replacements refuse what would produce more
than the environment's `max_output` characters (or items) and then run Jinja's own
filter. Their input is turned into text as `{{ }}` prints it (`values.to_text`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from jinja2 import filters as jinja_filters
from jinja2 import pass_environment

from hooksmith_server.rendering.jinja import sizes
from hooksmith_server.rendering.jinja.filters import FilterError
from hooksmith_server.rendering.jinja.sandbox import BoundedSandbox
from hooksmith_server.rendering.jinja.values import to_text

# textwrap breaks a word longer than the width by re-slicing the rest of it for every
# line: quadratic in the word's length. Allowed: this many characters copied for each
# character a request may hold (a 1 MiB limit allows a 32,000-character word at width 1).
_WRAP_COPIES_PER_CHAR = 1024


def _refuse(what: str, size: int, limit: int, unit: str = "characters") -> FilterError:
    return FilterError(f"{what} would produce {size:,} {unit}; the limit is {limit:,}")


@pass_environment
def center(environment: BoundedSandbox, value: Any, width: int = 80) -> str:
    """The text centred in `width` characters."""
    limit = environment.max_output
    text = to_text(value, limit)
    if isinstance(width, int) and width > limit:
        raise _refuse("center", width, limit)
    return text.center(width)


@pass_environment
def indent(
    environment: BoundedSandbox,
    s: Any,
    width: int | str = 4,
    first: bool = False,
    blank: bool = False,
) -> str:
    """Every line after the first (and the first, with `first`) indented by `width`."""
    limit = environment.max_output
    text = to_text(s, limit)
    prefix = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    size = len(text) + (len(text.splitlines()) + 1) * max(prefix, 0)
    if size > limit:
        raise _refuse("indent", size, limit)
    return jinja_filters.do_indent(text, width, first, blank)


@pass_environment
def wordwrap(
    environment: BoundedSandbox,
    s: Any,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = True,
) -> str:
    """The text wrapped at `width` characters, lines joined by `wrapstring`."""
    limit = environment.max_output
    text = to_text(s, limit)
    separator = environment.newline_sequence if wrapstring is None else to_text(wrapstring, limit)
    if isinstance(width, int) and width > 0:
        # Two lines in a row hold more than `width` characters, or they would be one.
        lines = 2 * len(text) // width + len(text.splitlines()) + 1
        size = len(text) + lines * len(separator)
        if size > limit:
            raise _refuse("wordwrap", size, limit)
        if break_long_words:
            copies = sum(len(word) ** 2 for word in text.split() if len(word) > width) // width
            if copies > limit * _WRAP_COPIES_PER_CHAR:
                raise FilterError(
                    f"wordwrap: breaking words this long at width {width} takes too long; "
                    "use a larger width"
                )
    return jinja_filters.do_wordwrap(
        environment, text, width, break_long_words, separator, break_on_hyphens
    )


@pass_environment
def format_filter(environment: BoundedSandbox, value: Any, *args: Any, **kwargs: Any) -> str:
    """`value % args` (printf style), its widths and precisions checked first."""
    limit = environment.max_output
    text = to_text(value, limit)
    if sizes.printf_size(text, kwargs or args, limit) > limit:
        raise FilterError(f"format would produce more than {limit:,} characters")
    return jinja_filters.do_format(text, *args, **kwargs)


@pass_environment
def join(
    environment: BoundedSandbox,
    value: Iterable[Any],
    d: Any = "",
    attribute: str | int | None = None,
) -> str:
    """The items as `{{ }}` prints them, with `d` between them."""
    limit = environment.max_output
    if attribute is not None:
        value = map(jinja_filters.make_attrgetter(environment, attribute), value)
    between = to_text(d, limit)
    parts: list[str] = []
    size = 0
    for item in value:
        text = to_text(item, limit)
        size += len(text) + (len(between) if parts else 0)
        if size > limit:
            raise _refuse("join", size, limit)
        parts.append(text)
    return between.join(parts)


@pass_environment
def batch(
    environment: BoundedSandbox, value: Iterable[Any], linecount: int, fill_with: Any = None
) -> Iterable[list[Any]]:
    """Lists of `linecount` items; the last one filled up with `fill_with` if given."""
    limit = environment.max_output
    if isinstance(linecount, int) and linecount > limit:
        raise _refuse("batch", linecount, limit, "items in a batch")
    return jinja_filters.do_batch(value, linecount, fill_with)


@pass_environment
def slice_filter(
    environment: BoundedSandbox, value: Any, slices: int, fill_with: Any = None
) -> Iterable[list[Any]]:
    """The items in `slices` lists of about equal length."""
    limit = environment.max_output
    if isinstance(slices, int) and slices > limit:
        raise _refuse("slice", slices, limit, "lists")
    return jinja_filters.sync_do_slice(value, slices, fill_with)


@pass_environment
def sum_filter(
    environment: BoundedSandbox,
    iterable: Iterable[Any],
    attribute: str | int | None = None,
    start: Any = 0,
) -> Any:
    """The sum of the items; lists (with a list `start`) are joined end to end."""
    if attribute is not None:
        iterable = map(jinja_filters.make_attrgetter(environment, attribute), iterable)
    if not isinstance(start, list | tuple):
        return sum(iterable, start)
    # sum() copies the growing list for every item: quadratic, and unbounded in size.
    sequence = list if isinstance(start, list) else tuple
    items = list(iterable)
    for item in items:
        if not isinstance(item, sequence):
            raise TypeError(
                f'can only concatenate {sequence.__name__} (not "{type(item).__name__}") '
                f"to {sequence.__name__}"
            )
    size = len(start) + sum(len(item) for item in items)
    if size > environment.max_output:
        raise _refuse("sum", size, environment.max_output, "items")
    return sequence(itertools.chain(start, *items))


def round_filter(value: Any, precision: int = 0, method: str = "common") -> Any:
    """`value` rounded to `precision` decimal places (`common`, `ceil` or `floor`)."""
    if isinstance(precision, int) and abs(precision) > sizes.MAX_DECIMAL_DIGITS:
        # Rounding computes 10 ** precision: a precision of 10**8 takes minutes.
        raise FilterError(
            f"number too large: round precision {precision:,} is beyond "
            f"±{sizes.MAX_DECIMAL_DIGITS:,} digits"
        )
    return jinja_filters.do_round(value, precision, method)  # type: ignore[arg-type]


FILTERS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {
        "center": center,
        "indent": indent,
        "wordwrap": wordwrap,
        "format": format_filter,
        "join": join,
        "batch": batch,
        "slice": slice_filter,
        "sum": sum_filter,
        "round": round_filter,
    }
)
"""Replacements for Jinja's filters of the same name."""

TEXT_FILTERS = frozenset(
    {
        "e",
        "escape",
        "forceescape",
        "lower",
        "safe",
        "string",
        "striptags",
        "title",
        "trim",
        "upper",
        "urlize",
        "wordcount",
    }
)
"""Jinja's filters that read their input as text: they get it as `{{ }}` prints it."""

RESULT_NOT_BUILT = frozenset(
    {"abs", "attr", "count", "d", "default", "first", "float", "int", "last", "length"}
    | {"max", "min", "random", "round"}
)
"""Filters that return one of their inputs or a number: no result of theirs is checked."""

MEASURED_FILTERS = frozenset({"pprint", "urlencode", "xmlattr"})
"""Jinja's filters that print a value's Python form: it is measured before they run."""
