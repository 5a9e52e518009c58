"""Checks every request needs before anything else reads it.

PostgreSQL cannot store a NUL character in text or JSON, and JSON has no NaN or
Infinity; such values would otherwise fail deep in the store. They are refused
here, for every string of every request, naming the field; the values inside a
`Struct` (tags, entry events, data) are checked as `convert.struct` reads them, so
a Send of a thousand recipients is walked once.
"""

from __future__ import annotations

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


NUL = "must not contain NUL characters (\\u0000)"
NOT_FINITE = "numbers must be finite (no NaN or Infinity)"


def _text(value: str, path: str) -> Iterator[errors.FieldViolation]:
    if "\x00" in value:
        yield errors.FieldViolation(path, NUL)


def _scan(message: Message, path: str) -> Iterator[errors.FieldViolation]:
    if isinstance(message, struct_pb2.Struct):
        # Checked as they are converted (`convert.struct`): one walk over thousands of values.
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
