"""How template values become text: JSON-like data, the way webhook receivers expect it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jinja2 import Undefined

# Floats beyond this are no longer exact integers, so they keep their float form.
_MAX_EXACT_INT = 2**53


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


def to_text(value: Any) -> str:
    """The text a template prints for `value`: Liquid-like, with JSON for containers."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, Undefined):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(normalise(value))
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(
            normalise(value), ensure_ascii=False, separators=(",", ":"), default=to_text
        )
    return str(value)
