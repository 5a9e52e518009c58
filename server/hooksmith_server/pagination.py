"""Opaque page tokens: a cursor position, base64url-encoded JSON."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from hooksmith_server import errors

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Position:
    """A row's place in a newest-first listing: its time and id break ties."""

    time: datetime
    id: uuid.UUID


def page_size(requested: int, field: str = "page_size") -> int:
    if requested < 0:
        raise errors.InvalidArgument.field(field, "must not be negative")
    if requested > MAX_PAGE_SIZE:
        raise errors.InvalidArgument.field(field, f"must be at most {MAX_PAGE_SIZE}")
    return requested or DEFAULT_PAGE_SIZE


def encode(position: Position | None) -> str:
    if position is None:
        return ""
    raw = json.dumps({"t": position.time.isoformat(), "id": str(position.id)})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(token: str, field: str = "page_token") -> Position | None:
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        return Position(datetime.fromisoformat(data["t"]), uuid.UUID(data["id"]))
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise errors.InvalidArgument.field(
            field, "is not a token returned by a previous page of this listing"
        ) from None
