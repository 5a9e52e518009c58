"""Opaque page tokens: a cursor position, base64url-encoded JSON."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from hooksmith_server import errors

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
_FIRST_YEAR = 1970
_LAST_YEAR = 9999


@dataclass(frozen=True)
class Position:
    """A row's place in a newest-first listing: its time and id break ties."""

    time: datetime
    id: uuid.UUID


def page_size(requested: int, field: str = "page_size") -> int:
    """The page size to use: 0 is the default, and more than the maximum is the maximum
    (as Google's API design guide, AIP-158, asks); only a negative size is an error."""
    if requested < 0:
        raise errors.InvalidArgument.field(field, "must not be negative")
    return min(requested, MAX_PAGE_SIZE) or DEFAULT_PAGE_SIZE


# Our tokens are about 120 characters; anything much longer was not made here.
_MAX_TOKEN_CHARS = 512


def encode(position: Position | None) -> str:
    if position is None:
        return ""
    raw = json.dumps({"t": position.time.isoformat(), "id": str(position.id)})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(token: str, field: str = "page_token") -> Position | None:
    """The position `token` names.

    Tokens come back from callers, so a forged one fails here, naming the field: the
    id must be a UUID string and the time carry a zone and fall in 1970..9999 (UTC).
    """
    if not token:
        return None
    if len(token) > _MAX_TOKEN_CHARS:
        raise errors.InvalidArgument.field(field, "is longer than any token this listing returns")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        return Position(_time(data["t"]), _id(data["id"]))
    except (binascii.Error, ValueError, KeyError, TypeError, OverflowError, RecursionError):
        raise errors.InvalidArgument.field(
            field, "is not a token returned by a previous page of this listing"
        ) from None


def _time(value: object) -> datetime:
    if not isinstance(value, str):
        raise TypeError("the time is not a string")
    time = datetime.fromisoformat(value)
    if time.utcoffset() is None:
        raise ValueError("the time has no time zone")
    # Rows are stamped by the server, so their times are well inside these years;
    # converting first keeps `0001-01-01T00:00:00+14:00` out of the database.
    time = time.astimezone(UTC)
    if not (_FIRST_YEAR <= time.year <= _LAST_YEAR):
        raise ValueError("the time is out of range")
    return time


def _id(value: object) -> uuid.UUID:
    if not isinstance(value, str):
        raise TypeError("the id is not a string")
    return uuid.UUID(value)


_MAX_BIGINT = 2**63 - 1


@dataclass(frozen=True)
class StreamPosition:
    """A place in the outcome stream: just after the outcome written by transaction `xid`
    as row `seq` (the stream is ordered by both)."""

    xid: int
    seq: int


def encode_cursor(position: StreamPosition) -> str:
    raw = json.dumps({"x": position.xid, "s": position.seq}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, field: str = "after_cursor") -> StreamPosition:
    """The position `cursor` names; a cursor not made by `encode_cursor` fails here,
    naming the field."""
    if len(cursor) > _MAX_TOKEN_CHARS:
        raise errors.InvalidArgument.field(field, "is longer than any cursor a stream returns")
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        xid, seq = data["x"], data["s"]
        if not all(type(v) is int and 0 <= v <= _MAX_BIGINT for v in (xid, seq)):
            raise ValueError("out of range")
    except (binascii.Error, ValueError, KeyError, TypeError, RecursionError):
        raise errors.InvalidArgument.field(
            field, "is not a cursor returned by WatchOutcomes (Outcome.cursor)"
        ) from None
    return StreamPosition(xid, seq)
