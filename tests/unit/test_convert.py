"""Struct values become plain JSON exactly as protobuf's own json_format reads them."""

from __future__ import annotations

import math

import pytest
from google.protobuf import json_format, struct_pb2
from hypothesis import given
from hypothesis import strategies as st

from hooksmith_server import errors
from hooksmith_server.api import convert, storable

# NUL is refused (its own test below); every other character converts.
text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=30,
)


@given(st.dictionaries(text, json_values, max_size=6))
def test_struct_matches_json_format(value: dict[str, object]) -> None:
    message = struct_pb2.Struct()
    message.update(value)
    assert convert.struct(message, "data") == json_format.MessageToDict(message)


@pytest.mark.parametrize(
    ("value", "path", "description"),
    [
        ({"a": {"b": ["ok", "bad\x00"]}}, "tags.a.b[1]", storable.NUL),
        ({"a": [{"n": math.inf}]}, "tags.a[0].n", storable.NOT_FINITE),
        ({"n": math.nan}, "tags.n", storable.NOT_FINITE),
        ({"k\x00": 1}, "tags", storable.NUL),
    ],
)
def test_unstorable_values_deep_in_a_struct_name_their_path(
    value: dict[str, object], path: str, description: str
) -> None:
    message = struct_pb2.Struct()
    message.update(value)
    with pytest.raises(errors.InvalidArgument) as caught:
        convert.struct(message, "tags")
    assert [(v.field, v.description) for v in caught.value.violations] == [(path, description)]
