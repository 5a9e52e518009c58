"""The pipeline's filters for Liquid: the same functions, and so the same meaning, as Jinja's.

Liquid passes arguments positionally (`truncate: 20, "…"`) and keywords as
`name: value` (`default: "x", allow_false: true`), as the shared filters take them.
Undefined values arrive as None, which every shared filter reads as blank.

python-liquid's own filters (`join`, `sort`, `times`, ...) are bounded here as well: no
filter is given, or may return, a string or list longer than the output limit (a range
such as `(1..100000000)` included) or an integer of more than `sizes.MAX_INT_BITS` bits,
and each looks at the render's clock, so no single step spends seconds or gigabytes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from liquid.undefined import Undefined

from hooksmith_server.rendering import clock
from hooksmith_server.rendering.jinja import filters as shared
from hooksmith_server.rendering.jinja import sizes as jinja_sizes
from hooksmith_server.rendering.jinja.sandbox import BoundedSandbox


def _plain(value: Any) -> Any:
    return None if isinstance(value, Undefined) else value


def _filter(function: Callable[..., Any], sizes: BoundedSandbox | None) -> Callable[..., Any]:
    """`function` as a Liquid filter; `sizes` is passed first to those that take it."""

    @functools.wraps(function)
    def run(value: Any, *args: Any, **kwargs: Any) -> Any:
        clock.check()
        args = tuple(_plain(arg) for arg in args)
        kwargs = {name: _plain(arg) for name, arg in kwargs.items()}
        try:
            if sizes is None:
                return function(_plain(value), *args, **kwargs)
            return function(sizes, _plain(value), *args, **kwargs)
        except TypeError as exc:
            raise shared.FilterError(f"{function.__name__}: {exc}") from exc

    return run


def liquid_filters(sizes: BoundedSandbox) -> Mapping[str, Callable[..., Any]]:
    """The shared filters, bound to the output limit `sizes` carries."""
    return MappingProxyType(
        {
            name: _filter(function, None if name == "default" else sizes)
            for name, function in shared.FILTERS.items()
        }
    )


def _check_size(what: str, value: Any, limit: int) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if value.bit_length() > jinja_sizes.MAX_INT_BITS:
            raise shared.FilterError(
                f"{what}: number too large ({value.bit_length():,} bits; "
                f"the limit is {jinja_sizes.MAX_INT_BITS:,})"
            )
    elif isinstance(value, str | list | tuple | range | dict) and len(value) > limit:
        raise shared.FilterError(
            f"{what} would work on {len(value):,} characters or items; the limit is {limit:,}"
        )


def bounded(name: str, function: Callable[..., Any], limit: int) -> Callable[..., Any]:
    """python-liquid's filter `function`, its inputs and result checked against `limit`."""

    @functools.wraps(function)
    def run(value: Any, *args: Any, **kwargs: Any) -> Any:
        clock.check()
        for given in (value, *args, *kwargs.values()):
            _check_size(name, given, limit)
        result = function(value, *args, **kwargs)
        _check_size(name, result, limit)
        return result

    return run
