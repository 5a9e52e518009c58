"""How template values become text: JSON-like data, the way webhook receivers expect it.

Only data prints: strings, numbers, booleans, None, lists and mappings, and the
views and iterators a template gets from them (`tags.keys()`, `items | reverse`),
which print as lists. Functions, namespaces and other Python objects are refused
rather than printed as a repr that shows a memory address.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Iterator, Mapping, MappingView, Set
from typing import Any

from jinja2 import Undefined
from jinja2.runtime import LoopContext, Macro

# Floats beyond this are no longer exact integers, so they keep their float form.
_MAX_EXACT_INT = 2**53
# Characters a float may print as: `-1.7976931348623157e+308`.
_FLOAT_CHARS = 24
# A container, or one item of it, prints at least its brackets or separator. Counting it
# also bounds the walk over a list that holds itself many times (`[l, l]` in a loop).
_ITEM_CHARS = 2


class Unrenderable(ValueError):
    """A value has no text form in a request (a function, a namespace) or too long a one."""


def kind(value: Any) -> str:
    """What `value` is, in words a template author knows: `function`, `namespace`."""
    if isinstance(value, Macro):
        return "macro"
    if isinstance(value, LoopContext):
        return "loop"
    if callable(value):
        return "function"
    return type(value).__name__.lower()


def normalise(value: Any) -> Any:
    """`value` with whole floats turned into ints, recursively.

    Values arrive from protobuf `Struct`, where every number is a float; a user's
    age of 30 must render as `30`, not `30.0`.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        if value.is_integer() and -_MAX_EXACT_INT <= value <= _MAX_EXACT_INT:
            return int(value)
        return value
    if isinstance(value, Mapping):
        return {key: normalise(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [normalise(item) for item in value]
    return value


def _is_listable(value: Any, *, consume: bool) -> bool:
    """Whether `value` prints as a list: a set, a mapping view, a range, an iterator.

    Only iterators of Python's own types are read (a generator from `map`, a list's
    reversed iterator); Jinja's cycler is endless and a loop must not be consumed.
    """
    if isinstance(value, Set | MappingView | range):
        return True
    return consume and isinstance(value, Iterator) and type(value).__module__ == "builtins"


class _Walk:
    """Turns a value into plain JSON data, refusing it once it would print past `limit`."""

    def __init__(self, limit: int, *, consume: bool, indent: int = 0) -> None:
        self._limit = limit
        self._left = limit
        self._consume = consume
        self._indent = indent

    @property
    def size(self) -> int:
        return self._limit - self._left

    def _charge(self, chars: int) -> None:
        self._left -= chars
        if self._left < 0:
            raise Unrenderable(f"value is more than {self._limit:,} characters as text")

    def plain(self, value: Any, depth: int = 0) -> Any:
        if isinstance(value, str):
            self._charge(len(value) + _ITEM_CHARS)
            return value
        if value is None or isinstance(value, Undefined):
            self._charge(4)
            return None if value is None else ""
        if isinstance(value, bool):
            self._charge(5)
            return value
        if isinstance(value, int):
            # log10(2) < 1/3, so this is at least the number of decimal digits.
            self._charge(value.bit_length() // 3 + 2)
            return value
        if isinstance(value, float):
            self._charge(_FLOAT_CHARS)
            return normalise(value)
        if isinstance(value, numbers.Number):
            text = str(value)
            self._charge(len(text) + _ITEM_CHARS)
            return text
        if isinstance(value, Mapping):
            self._charge(_ITEM_CHARS)
            result = {}
            for key, item in value.items():
                self._charge(self._indent * (depth + 1))
                result[self._key(key)] = self.plain(item, depth + 1)
            return result
        if isinstance(value, list | tuple) or _is_listable(value, consume=self._consume):
            self._charge(_ITEM_CHARS)
            items = []
            for item in value:
                self._charge(self._indent * (depth + 1))
                items.append(self.plain(item, depth + 1))
            return items
        raise Unrenderable(f"cannot render a {kind(value)}")

    def _key(self, key: Any) -> Any:
        # The keys JSON can spell; json.dumps writes the numbers and None as strings.
        if not isinstance(key, str | int | float) and key is not None:
            raise Unrenderable(f"cannot render a {kind(key)} as a key")
        return self.plain(key)


def plain(value: Any, limit: int, *, indent: int = 0) -> Any:
    """`value` as JSON data (lists, dicts, whole floats as ints) for `json.dumps`.

    Raises Unrenderable for a value that is not data, or that would print more than
    `limit` characters (each level of nesting `indent` more per item); the walk stops
    there, before building anything larger.
    """
    return _Walk(limit, consume=True, indent=indent).plain(value)


def text_size(value: Any, limit: int) -> int:
    """About how many characters `value` prints as; more than `limit` is not counted.

    Reads no iterator, so the value is left as it was; an iterator, like any value that
    is not data, raises Unrenderable, as does a value longer than `limit`.
    """
    if isinstance(value, str):
        return len(value)
    walk = _Walk(limit, consume=False)
    walk.plain(value)
    return walk.size


def to_text(value: Any, limit: int) -> str:
    """The text a template prints for `value`: Liquid-like, with JSON for containers.

    Raises Unrenderable for a value that is not data or whose text would be longer
    than `limit` characters; a string is returned as it is, whatever its length.
    """
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, Undefined):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(normalise(value))
    if isinstance(value, numbers.Number):
        return str(value)
    return json.dumps(plain(value, limit), ensure_ascii=False, separators=(",", ":"))
