"""The sandboxed Jinja2 environment templates run in.

Rendering runs on the server's event loop, so a template must not be able to spend
seconds or gigabytes in one step. Every way a template builds a number, a string or a
list is bounded: what takes a size (a width, a count, an exponent) is checked before
it runs, and what grows its input by a small factor (`upper`, `encode`, `escape`) is
checked after, so no chain of steps compounds. Numbers stay within
`sizes.MAX_INT_BITS`; text and lists within `max_output` characters or items.
"""

from __future__ import annotations

import functools
import json
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from jinja2 import ChainableUndefined, nodes, pass_eval_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedFormatter
from markupsafe import EscapeFormatter, Markup

from hooksmith_server.rendering import clock
from hooksmith_server.rendering.jinja import builtin_filters, loops, sizes, values
from hooksmith_server.rendering.jinja.filters import FILTERS
from hooksmith_server.rendering.jinja.recipient import RecipientValues
from hooksmith_server.rendering.jinja.sandbox import BoundedSandbox
from hooksmith_server.rendering.jinja.skip import SkipExtension
from hooksmith_server.rendering.jinja.values import to_text

# Methods a template may call on `tags` / `entry_event` when no key has that name.
_MAPPING_METHODS = frozenset({"get", "items", "keys", "values"})
# What has a length that can grow: the results whose size is checked.
_SIZED = (str, bytes, list, tuple)


def _too_large(what: str, size: int, limit: int, unit: str = "characters") -> SecurityError:
    return SecurityError(f"{what} would produce {size:,} {unit}; the limit is {limit:,}")


class _OutputBuffer(list[str]):
    """The output of a macro, `{% set %}` block, `{% filter %}` or `{% call %}` block.

    Only the template's own output passes the render budget; a block collects its
    output here first, so the buffer refuses to grow past `max_output` characters.
    """

    __slots__ = ("_left", "_limit")

    def __init__(self, limit: int) -> None:
        super().__init__()
        self._limit = limit
        self._left = limit

    def _charge(self, parts: Sequence[str]) -> None:
        self._left -= sum(map(len, parts))
        if self._left < 0:
            raise SecurityError(f"a block's output is more than {self._limit:,} characters")

    def append(self, part: str) -> None:
        self._charge((part,))
        super().append(part)

    def extend(self, parts: Iterable[str]) -> None:
        parts = tuple(parts)
        self._charge(parts)
        super().extend(parts)


class _CodeGenerator(CodeGenerator):
    """Jinja's code generator with `~` and block buffers routed through the environment."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.join_text((")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")

    def buffer(self, frame: Frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.output_buffer()")


class _SizedFormatter(SandboxedFormatter):
    """Jinja's sandboxed `str.format`, each field measured before it is formatted."""

    def __init__(self, environment: TemplateEnvironment, **kwargs: Any) -> None:
        super().__init__(environment, **kwargs)
        self._limit = environment.max_output
        self._left = self._limit

    def vformat(self, format_string: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
        self._left = self._limit - len(format_string)
        return super().vformat(format_string, args, kwargs)

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion is not None:
            # `!r` and `!s` print any object; only data may be printed.
            values.text_size(value, self._limit)
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> Any:
        self._left -= sizes.format_spec_size(value, format_spec, self._limit)
        if self._left < 0:
            raise SecurityError(f"format would produce more than {self._limit:,} characters")
        return super().format_field(value, format_spec)


class _SizedEscapeFormatter(_SizedFormatter, EscapeFormatter):
    """The same for `Markup.format`, which escapes what it inserts."""


class TemplateEnvironment(BoundedSandbox):
    """Jinja2's immutable sandbox with Liquid filters, keys before attributes, size guards.

    No loader and no autoescape: output is URL, header and JSON text, not HTML.
    Missing values are chainable undefineds, so `tags.a.b` renders empty.
    """

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
    code_generator_class = _CodeGenerator

    def __init__(self, *, max_output: int, finalize: Callable[[Any, int], str] = to_text) -> None:
        # Taking the eval context stops Jinja from finalizing constant output at compile
        # time, and `optimized=False` stops it folding constant expressions: compiling
        # must never run template code, or `'now' | date` would freeze and a filter given
        # huge constants would allocate while a webhook is merely being saved.
        @pass_eval_context
        def finalize_at_render(_: EvalContext, value: Any) -> str:
            return finalize(value, self.max_output)

        super().__init__(
            autoescape=False,
            undefined=ChainableUndefined,
            keep_trailing_newline=True,
            finalize=finalize_at_render,
            optimized=False,
        )
        self.max_output = max_output
        self.filters.update(FILTERS)
        self.filters.update(builtin_filters.FILTERS)
        self.filters.update(
            {
                name: self._bounded_filter(name, f)
                for name, f in self.filters.items()
                if name not in builtin_filters.RESULT_NOT_BUILT
            }
        )
        self.filters[loops.LOOP_GUARD] = loops.guarded
        self.add_extension(SkipExtension)
        # lipsum(n=100000) builds tens of megabytes; webhooks have no use for filler text.
        del self.globals["lipsum"]
        # `tojson` must see recipient values as plain JSON with whole numbers as ints.
        self.policies["json.dumps_function"] = self._dumps

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
        clock.check()
        limit = self.max_output
        if operator == "*":
            self._check_repeat(left, right)
            self._check_repeat(right, left)
        elif operator == "+" and isinstance(left, _SIZED) and isinstance(right, _SIZED):
            size = len(left) + len(right)
            if size > limit:
                raise _too_large("concatenating", size, limit, _unit(left))
        elif operator == "%" and isinstance(left, str | bytes):
            # printf formatting: the right side is the values, not a number.
            if sizes.printf_size(left, right, limit) > limit:
                raise SecurityError(f"formatting would produce more than {limit:,} characters")
            return super().call_binop(context, operator, left, right)
        self._check_numbers(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def _check_repeat(self, sequence: Any, times: Any) -> None:
        if isinstance(sequence, _SIZED) and isinstance(times, int):
            size = len(sequence) * times
            if size > self.max_output:
                raise _too_large("repeating", size, self.max_output, "items")

    @staticmethod
    def _check_numbers(operator: str, left: Any, right: Any) -> None:
        for operand in (left, right):
            if isinstance(operand, int) and operand.bit_length() > sizes.MAX_INT_BITS:
                raise SecurityError(
                    f"number too large: an operand of {operator} has "
                    f"{operand.bit_length():,} bits; the limit is {sizes.MAX_INT_BITS:,}"
                )
        if isinstance(left, int) and isinstance(right, int):
            bits = sizes.int_result_bits(operator, left, right)
            if bits > sizes.MAX_INT_BITS:
                raise SecurityError(
                    f"number too large: the result of {operator} would have about "
                    f"{bits:,} bits; the limit is {sizes.MAX_INT_BITS:,}"
                )

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        clock.check()
        owner = getattr(obj, "__self__", None)
        name = getattr(obj, "__name__", None)
        if not isinstance(name, str) or not isinstance(owner, str | bytes | int):
            return super().call(context, obj, *args, **kwargs)
        # A method of a string or number: `'a'.ljust(10 ** 9)`, `(1).to_bytes(10 ** 9)`.
        limit = self.max_output
        if name == "join" and isinstance(owner, str | bytes) and args:
            items = list(args[0])
            args = (items, *args[1:])
            size = len(owner) * max(len(items) - 1, 0)
            size += sum(len(item) for item in items if isinstance(item, str | bytes))
        else:
            size = sizes.method_result_size(name, owner, args, kwargs) or 0
        if size > limit:
            raise _too_large(name, size, limit, "characters" if isinstance(owner, str) else "bytes")
        result = super().call(context, obj, *args, **kwargs)
        # The rest grow their text by a small factor (`encode`, `hex`); checked after,
        # a chain of them cannot compound.
        if isinstance(result, _SIZED) and len(result) > limit:
            raise _too_large(name, len(result), limit, _unit(result))
        return result

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """Jinja's sandboxed `str.format` and `format_map`, with `_SizedFormatter`."""
        if not isinstance(value, types.MethodType | types.BuiltinMethodType) or (
            value.__name__ not in ("format", "format_map")
        ):
            return None
        text = value.__self__
        if not isinstance(text, str):
            return None
        formatter = (
            _SizedEscapeFormatter(self, escape=text.escape)
            if isinstance(text, Markup)
            else _SizedFormatter(self)
        )
        text_type = type(text)
        is_format_map = value.__name__ == "format_map"

        def sized_format(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs:
                    raise TypeError("format_map() takes no keyword arguments")
                if len(args) != 1:
                    raise TypeError(f"format_map() takes exactly one argument ({len(args)} given)")
                kwargs, args = args[0], ()
            return text_type(formatter.vformat(text, args, kwargs))

        return functools.update_wrapper(sized_format, value)

    def join_text(self, parts: Iterable[Any]) -> str:
        """`a ~ b`: the parts as `{{ }}` prints them, joined."""
        limit = self.max_output
        texts = [to_text(part, limit) for part in parts]
        size = sum(map(len, texts))
        if size > limit:
            raise _too_large("~", size, limit)
        return "".join(texts)

    def output_buffer(self) -> list[str]:
        """Where a block collects its output; see `_OutputBuffer`."""
        return _OutputBuffer(self.max_output)

    def _dumps(self, value: Any, **options: Any) -> str:
        # With `indent`, every item gets a line of its own, indented once per level.
        indent = options.get("indent")
        if isinstance(indent, str):
            width = len(indent) + 1
        elif isinstance(indent, int):
            width = max(indent, 0) + 1
        else:
            width = 0
        return json.dumps(values.plain(value, self.max_output, indent=width), **options)

    def _bounded_filter(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        """`original` with its result size checked, and its input printed as text first
        for the Jinja filters that read text."""
        limit = self.max_output
        # Filters marked with pass_environment & co. take that argument first; the
        # marker is an attribute, which functools.wraps copies to the wrapper.
        at = 0 if getattr(original, "jinja_pass_arg", None) is None else 1
        as_text = name in builtin_filters.TEXT_FILTERS
        measured = name in builtin_filters.MEASURED_FILTERS

        @functools.wraps(original)
        def bounded(*args: Any, **kwargs: Any) -> Any:
            clock.check()
            value = args[at] if len(args) > at else None
            if as_text and not isinstance(value, str):
                args = (*args[:at], to_text(value, limit), *args[at + 1 :])
            elif measured:
                values.text_size(value, limit)
            result = original(*args, **kwargs)
            if result is not value and isinstance(result, _SIZED) and len(result) > limit:
                raise _too_large(name, len(result), limit, _unit(result))
            return result

        return bounded


def _unit(value: Any) -> str:
    if isinstance(value, str):
        return "characters"
    return "bytes" if isinstance(value, bytes) else "items"
