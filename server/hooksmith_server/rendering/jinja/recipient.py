"""A recipient's tags and entry event as templates see them."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from typing import Any

from hooksmith_server.rendering.jinja.values import normalise, to_text


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
        # The values came in one API request, which bounds their size already.
        return to_text(self, sys.maxsize)

    # Python prints a view of the values (`tags.keys() | pprint`, `'%s' % [tags]`) with
    # the repr of this object; the default one shows a memory address.
    __repr__ = __str__

    def note_missing(self, key: object) -> str:
        """Record that the template asked for `key` and the recipient has none; its name."""
        name = f"{self._prefix}.{key}"
        self._missing.add(name)
        return name
