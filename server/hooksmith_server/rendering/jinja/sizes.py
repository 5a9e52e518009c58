"""How large a result would be, estimated from its operands before it is computed.

Rendering runs on the event loop, so an operation that would build a huge number or
string must be refused before it starts: afterwards, the time and memory are spent.
The estimates are upper bounds within a small factor, cheap to compute (no operand is
converted to text to measure it), and callers refuse anything past their limit.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping, Sequence
from typing import Any

from hooksmith_server.rendering.jinja import values

MAX_INT_BITS = 4096
"""Largest integer arithmetic may take or make: 1,233 decimal digits, far past any
amount, count or id, and microseconds to multiply. Unbounded, squaring in a loop
doubles the size each step: 26 steps took 37 seconds."""

MAX_DECIMAL_DIGITS = math.floor(MAX_INT_BITS * math.log10(2))
"""Decimal digits of the largest integer; bounds a rounding precision, 10 ** digits."""

# Digits of the largest float in fixed-point form (1.8e308), with sign and point.
_FLOAT_FIXED_CHARS = 312
# Sign, `0x` prefix, point, exponent, percent sign: what a number adds to its digits.
_NUMBER_EXTRA_CHARS = 8
# `[[fill]align][sign][z][#][0][width][grouping][.precision][type]`, as str.format reads it.
_FORMAT_SPEC = re.compile(
    r"(?:.?[<>=^])?[-+ ]?z?#?0?(?P<width>\d*)(?P<grouping>[,_]?)(?:\.(?P<precision>\d*))?"
    r"(?P<type>[a-zA-Z%]?)",
    re.DOTALL,
)
# Conversions that format a number as a float (an int is converted first).
_FLOAT_KINDS = frozenset("eEfFgGn%")
# A width or precision with more digits than this is larger than any limit.
_MAX_NUMBER_DIGITS = 18
_HUGE = 10**_MAX_NUMBER_DIGITS


def int_result_bits(operator: str, left: int, right: int) -> int:
    """How many bits `left <operator> right` has, at most (`**`: about); a float is 1."""
    width = max(left.bit_length(), right.bit_length())
    if operator in ("+", "-"):
        return width + 1
    if operator == "*":
        return left.bit_length() + right.bit_length()
    if operator == "**":
        if right < 0 or abs(left) <= 1:
            return 1
        return math.floor(right * math.log2(abs(left))) + 1
    return width  # `/`, `//`, `%`: never larger than the operands


def _number_size(value: Any, kind: str, precision: int) -> int:
    """Characters a number formats to with conversion `kind` (printf or format spec)."""
    if kind == "c":
        return 1
    if isinstance(value, float) or kind in _FLOAT_KINDS:
        # Fixed-point prints every digit of the whole part; the others print fewer.
        return _FLOAT_FIXED_CHARS + precision + _NUMBER_EXTRA_CHARS
    if not isinstance(value, int):
        return len(str(value)) + precision
    bits = value.bit_length()
    # log10(2) < 1/3, so a third of the bits is at least the number of decimal digits.
    digits = {"b": bits, "x": bits // 4, "X": bits // 4}.get(kind, bits // 3)
    return max(digits + 1, precision) + _NUMBER_EXTRA_CHARS


def _text_size(value: Any, kind: str, limit: int) -> int:
    """Characters `str()` (kind `s`) or `repr()` (kind `r`, `a`) of `value` has, about."""
    if isinstance(value, str | bytes):
        if kind not in ("r", "a"):
            return len(value) + 3
        if isinstance(value, str) and value.isascii() and value.isprintable():
            return len(value) + 3
        return 10 * len(value) + 3  # `\U0001f600`, `\x00`
    # A container's repr is at most about twice its JSON, with ", " between items;
    # values that are not data (functions, namespaces) are refused, never printed.
    return 2 * values.text_size(value, limit)


def conversion_size(value: Any, kind: str, width: int, precision: int | None, limit: int) -> int:
    """Characters one printf conversion or str.format field produces, about.

    `kind` is the conversion letter, or "" for a format spec without one.
    """
    if kind in ("s", "r", "a") or (kind == "" and not isinstance(value, numbers.Number)):
        size = _text_size(value, kind, limit)
        if precision is not None:
            size = min(size, precision)
    else:
        size = _number_size(value, kind, precision or 0)
    return max(size, width)


def format_spec_size(value: Any, spec: str, limit: int) -> int:
    """Characters `format(value, spec)` produces, about; a width past `limit` counts."""
    found = _FORMAT_SPEC.fullmatch(spec)
    if found is None:
        # Not a spec str.format understands: it raises ValueError without formatting.
        return 0
    width = _bounded_int(found["width"]) if found["width"] else 0
    text = found["precision"]
    precision = _bounded_int(text) if text else None
    size = conversion_size(value, found["type"], width, precision, limit)
    if found["grouping"]:
        size += size // 3
    return size


def _bounded_int(digits: str) -> int:
    return _HUGE if len(digits) > _MAX_NUMBER_DIGITS else int(digits)


class _PrintfTemplate:
    """Reads a printf-style template (`str % args`) conversion by conversion."""

    _FLAGS = frozenset("-+ #0")

    def __init__(self, template: str, args: Any) -> None:
        self._template = template
        self._at = 0
        # The rules of `str % args`: a tuple gives the positional values, anything
        # else is the one value; an object with keys serves `%(name)s`.
        self._positional: Sequence[Any] = args if isinstance(args, tuple) else (args,)
        self._next = 0
        self._mapping = args if isinstance(args, Mapping) else None

    def size(self, limit: int) -> int:
        total = len(self._template)
        while total <= limit:
            start = self._template.find("%", self._at)
            if start < 0:
                break
            self._at = start + 1
            total += self._conversion(limit)
        return total

    def _peek(self) -> str:
        return self._template[self._at : self._at + 1]

    def _conversion(self, limit: int) -> int:
        key = self._key()
        while self._peek() and self._peek() in self._FLAGS:
            self._at += 1
        width = abs(self._number())
        precision = None
        if self._peek() == ".":
            self._at += 1
            precision = max(self._number(), 0)
        while self._peek() and self._peek() in "hlL":
            self._at += 1
        kind = self._peek()
        self._at += 1
        if kind in ("%", ""):
            return width
        try:
            value = self._value(key)
        except (LookupError, TypeError):
            return width  # the formatting itself raises, before building anything
        return conversion_size(value, "s" if kind == "b" else kind, width, precision, limit)

    def _key(self) -> str | None:
        if self._peek() != "(":
            return None
        depth = 0
        start = self._at + 1
        while self._at < len(self._template):
            character = self._template[self._at]
            self._at += 1
            depth += {"(": 1, ")": -1}.get(character, 0)
            if depth == 0:
                break
        return self._template[start : self._at - 1]

    def _number(self) -> int:
        if self._peek() == "*":
            self._at += 1
            value = self._take()
            return value if isinstance(value, int) else 0
        start = self._at
        while self._peek().isdigit():
            self._at += 1
        digits = self._template[start : self._at]
        return _bounded_int(digits) if digits else 0

    def _take(self) -> Any:
        if self._next >= len(self._positional):
            raise IndexError
        value = self._positional[self._next]
        self._next += 1
        return value

    def _value(self, key: str | None) -> Any:
        if key is None:
            return self._take()
        if self._mapping is None:
            raise TypeError
        return self._mapping[key]


def printf_size(template: str | bytes, args: Any, limit: int) -> int:
    """Characters `template % args` produces, about; counting stops once past `limit`.

    Stopping matters: measuring a container argument walks it, up to `limit` each.
    """
    if isinstance(template, bytes):
        template = template.decode("latin-1")
    try:
        return _PrintfTemplate(template, args).size(limit)
    except IndexError:
        return len(template)  # too few values: the formatting raises TypeError


# A strftime conversion: glibc's flags and field width, an E or O modifier, the letter.
_STRFTIME_CONVERSION = re.compile(r"%[-_0^#]*(\d*)[EO]?.?", re.DOTALL)
# The longest a conversion prints without a width: `%c` or `%+` in a long locale.
_STRFTIME_CONVERSION_CHARS = 64


def strftime_size(pattern: str) -> int:
    """Characters `strftime(pattern)` produces at most, about.

    glibc pads a field to any width it is given (`%300000000Y`); Python's strftime
    grows its buffer up to 256 times the pattern's length to hold it.
    """
    size = len(pattern)
    for found in _STRFTIME_CONVERSION.finditer(pattern):
        width = _bounded_int(found[1]) if found[1] else 0
        size += max(width, _STRFTIME_CONVERSION_CHARS)
    return size


def _argument(args: tuple[Any, ...], kwargs: Mapping[str, Any], at: int, name: str) -> Any:
    if len(args) > at:
        return args[at]
    return kwargs.get(name)


def _int_argument(
    args: tuple[Any, ...], kwargs: Mapping[str, Any], at: int, name: str, default: int
) -> int:
    value = _argument(args, kwargs, at, name)
    if value is None:
        return default
    # Anything else makes the method raise TypeError; zero is as good as any size.
    return value if isinstance(value, int) else 0


def _replace_size(text: str | bytes, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    old = _argument(args, kwargs, 0, "old")
    new = _argument(args, kwargs, 1, "new")
    count = _int_argument(args, kwargs, 2, "count", -1)
    # Two branches alike so that mypy sees `old` of the same type as `text` in each.
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):  # noqa: SIM114
        found = text.count(old)
    elif isinstance(text, bytes) and isinstance(old, bytes) and isinstance(new, bytes):
        found = text.count(old)
    else:
        return len(text)  # the method raises TypeError
    # An empty `old` matches between every two characters and at both ends.
    if not old:
        found = len(text) + 1
    if count >= 0:
        found = min(found, count)
    return len(text) + found * max(len(new) - len(old), 0)


def _translate_size(text: str | bytes, table: Any) -> int:
    """Characters `text.translate(table)` has at most: each one may become the longest."""
    if isinstance(text, bytes):
        return len(text)  # a bytes table maps each byte to one byte
    if isinstance(table, Mapping):
        replacements: Any = table.values()
    elif isinstance(table, Sequence):
        replacements = table
    else:
        return len(text)
    longest = max((len(item) for item in replacements if isinstance(item, str)), default=1)
    return len(text) * max(longest, 1)


def _expandtabs_size(text: str | bytes, tabsize: int) -> int:
    tabs = text.count("\t") if isinstance(text, str) else text.count(b"\t")
    return len(text) + tabs * max(tabsize, 0)


def method_result_size(
    name: str, owner: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> int | None:
    """Characters (or bytes) a str, bytes or int method call would return, or None.

    None for the methods whose result is no larger than a small multiple of the text.
    `join` is not here: it needs its items read, which the caller does once.
    """
    if isinstance(owner, int) and name == "to_bytes":
        return _int_argument(args, kwargs, 0, "length", 1)
    if not isinstance(owner, str | bytes):
        return None
    if name in ("center", "ljust", "rjust", "zfill"):
        return max(len(owner), _int_argument(args, kwargs, 0, "width", 0))
    if name == "expandtabs":
        return _expandtabs_size(owner, _int_argument(args, kwargs, 0, "tabsize", 8))
    if name == "replace":
        return _replace_size(owner, args, kwargs)
    if name == "translate":
        return _translate_size(owner, _argument(args, kwargs, 0, "table"))
    return None
