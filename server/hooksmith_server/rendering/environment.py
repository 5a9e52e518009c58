"""The sandboxed Jinja2 environment templates run in, and the recipient values they see."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from jinja2 import ChainableUndefined, pass_eval_context
from jinja2.exceptions import SecurityError
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from hooksmith_server.rendering.filters import FILTERS
from hooksmith_server.rendering.values import normalise, to_text

# Methods a template may call on `tags` / `entry_event` when no key has that name.
_MAPPING_METHODS = frozenset({"get", "items", "keys", "values"})
# `2 ** 10_000_000` takes seconds and megabytes; nothing a webhook needs comes close.
_MAX_POWER_BITS = 100_000


def _dumps(value: Any, **options: Any) -> str:
    return json.dumps(normalise(value), default=to_text, **options)


class RecipientValues(Mapping[str, Any]):
    """A recipient's tags or entry event as templates see them.

    Values come out normalised (whole floats as ints). A name that a template looks
    up and that is absent is added to the render's `missing` set as `<prefix>.<name>`.
    One instance belongs to one render, so concurrent renders share nothing mutable.
    """

    __slots__ = ("_missing", "_prefix", "_values")

    def __init__(self, prefix: str, values: Mapping[str, Any], missing: set[str]) -> None:
        self._prefix = prefix
        self._values = values
        self._missing = missing

    def __getitem__(self, key: str) -> Any:
        return normalise(self._values[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __str__(self) -> str:
        return to_text(self)

    def note_missing(self, key: object) -> str:
        """Record that the template asked for `key` and the recipient has none; its name."""
        name = f"{self._prefix}.{key}"
        self._missing.add(name)
        return name


class TemplateEnvironment(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox with Liquid filters, keys before attributes, output guards.

    No loader and no autoescape: output is URL, header and JSON text, not HTML.
    Missing values are chainable undefineds, so `tags.a.b` renders empty.
    """

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, *, max_output: int, finalize: Callable[[Any], str] = to_text) -> None:
        # Taking the eval context stops Jinja from finalizing constant output at compile
        # time, and `optimized=False` stops it folding constant expressions: compiling
        # must never run template code, or `'now' | date` would freeze and a filter given
        # huge constants would allocate while a webhook is merely being saved.
        @pass_eval_context
        def finalize_at_render(_: EvalContext, value: Any) -> str:
            return finalize(value)

        super().__init__(
            autoescape=False,
            undefined=ChainableUndefined,
            keep_trailing_newline=True,
            finalize=finalize_at_render,
            optimized=False,
        )
        self.max_output = max_output
        """The most characters one rendered request may hold; guards `*` and filters."""
        self.filters.update(FILTERS)
        # lipsum(n=100000) builds tens of megabytes; webhooks have no use for filler text.
        del self.globals["lipsum"]
        # `tojson` must see recipient values as plain JSON with whole numbers as ints.
        self.policies["json.dumps_function"] = _dumps

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, RecipientValues):
            if attribute in obj:
                return obj[attribute]
            if attribute in _MAPPING_METHODS:
                return super().getattr(obj, attribute)
            return self.undefined(name=obj.note_missing(attribute))
        # Data is JSON: `order.items` means the key "items", as in Liquid, not dict.items.
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, RecipientValues):
            try:
                return obj[argument]
            except (KeyError, TypeError):
                return self.undefined(name=obj.note_missing(argument))
        return super().getitem(obj, argument)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            self._check_repeat(left, right)
            self._check_repeat(right, left)
        elif (
            isinstance(left, int)
            and isinstance(right, int)
            and abs(left) > 1
            and right * abs(left).bit_length() > _MAX_POWER_BITS
        ):
            raise SecurityError(f"{left} ** {right} is too large to compute")
        return super().call_binop(context, operator, left, right)

    def _check_repeat(self, sequence: Any, times: Any) -> None:
        if isinstance(sequence, str | list | tuple) and isinstance(times, int):
            size = len(sequence) * times
            if size > self.max_output:
                raise SecurityError(
                    f"repeating would produce {size:,} items; the limit is {self.max_output:,}"
                )
