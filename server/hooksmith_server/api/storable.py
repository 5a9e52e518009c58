"""Checks every request needs before anything else reads it.

PostgreSQL cannot store a NUL character in text or JSON, and JSON has no NaN or
Infinity; such values would otherwise fail deep in the store. They are refused
here, for every string and number of every request, naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from google.protobuf import struct_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from hooksmith_server import errors

_MAX_REPORTED = 20


def check_request(message: Message) -> None:
    """Raise InvalidArgument listing the first fields with unstorable values."""
    violations = []
    for violation in _scan(message, ""):
        violations.append(violation)
        if len(violations) == _MAX_REPORTED:
            break
    if violations:
        raise errors.InvalidArgument(violations=violations)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _text(value: str, path: str) -> Iterator[errors.FieldViolation]:
    if "\x00" in value:
        yield errors.FieldViolation(path, "must not contain NUL characters (\\u0000)")


def _value(value: struct_pb2.Value, path: str) -> Iterator[errors.FieldViolation]:
    kind = value.WhichOneof("kind")
    if kind == "number_value" and not math.isfinite(value.number_value):
        yield errors.FieldViolation(path, "numbers must be finite (no NaN or Infinity)")
    elif kind == "string_value":
        yield from _text(value.string_value, path)
    elif kind == "struct_value":
        yield from _struct(value.struct_value, path)
    elif kind == "list_value":
        for i, item in enumerate(value.list_value.values):
            yield from _value(item, f"{path}[{i}]")


def _struct(value: struct_pb2.Struct, path: str) -> Iterator[errors.FieldViolation]:
    for key, item in value.fields.items():
        yield from _text(key, path)
        yield from _value(item, _join(path, key))


def _scan(message: Message, path: str) -> Iterator[errors.FieldViolation]:
    if isinstance(message, struct_pb2.Struct):
        yield from _struct(message, path)
        return
    for field, value in message.ListFields():
        name = _join(path, field.name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            for key, item in value.items():
                entry = f"{name}[{key!r}]"
                yield from _text(str(key), entry)
                if isinstance(item, Message):
                    yield from _scan(item, entry)
                elif isinstance(item, str):
                    yield from _text(item, entry)
        elif field.is_repeated:
            for i, item in enumerate(value):
                yield from _single(field, item, f"{name}[{i}]")
        else:
            yield from _single(field, value, name)


def _single(field: FieldDescriptor, value: object, path: str) -> Iterator[errors.FieldViolation]:
    if field.type == FieldDescriptor.TYPE_STRING:
        assert isinstance(value, str)
        yield from _text(value, path)
    elif field.type == FieldDescriptor.TYPE_MESSAGE:
        assert isinstance(value, Message)
        yield from _scan(value, path)
