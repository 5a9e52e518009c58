"""Values kept from a 2xx JSON response: `WebhookSpec.capture`, checked and applied.

A capture names an RFC 6901 JSON pointer (`/data/code`). After an attempt that got a 2xx
response whose body parses as JSON, each pointer that resolves gives one value: a string
as it is, anything else (number, boolean, null, object, array) as compact JSON. A pointer
that does not resolve, and a value longer than `MAX_VALUE_BYTES`, are left out (a cut
coupon code or half a JSON object would be wrong, not short). A body that is not JSON, or
was cut at the sender's response limit, captures nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from hooksmith_server import domain, errors

MAX_CAPTURES = 20
MAX_NAME_CHARS = 64
MAX_POINTER_CHARS = 512
MAX_VALUE_BYTES = 1024
"""The longest value kept, in UTF-8 bytes; longer ones are left out."""

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# RFC 6901: "/" then tokens in which "~" appears only as "~0" (a "~") or "~1" (a "/").
_POINTER = re.compile(r"(/([^~/]|~[01])*)+")
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")


def violations(captures: Sequence[domain.Capture]) -> list[errors.FieldViolation]:
    """What is wrong with a spec's captures, each naming its field (`capture[2].pointer`)."""
    bad: list[errors.FieldViolation] = []
    if len(captures) > MAX_CAPTURES:
        bad.append(
            errors.FieldViolation(
                "capture", f"at most {MAX_CAPTURES} captures, got {len(captures)}"
            )
        )
    seen: set[str] = set()
    for i, capture in enumerate(captures):
        name, pointer = capture.name, capture.pointer
        if not name:
            bad.append(errors.FieldViolation(f"capture[{i}].name", "is required"))
        elif len(name) > MAX_NAME_CHARS or not _NAME.fullmatch(name):
            bad.append(
                errors.FieldViolation(
                    f"capture[{i}].name",
                    f"must be a letter, then letters, digits or _, at most {MAX_NAME_CHARS} "
                    f"characters; got {name[:80]!r}",
                )
            )
        elif name in seen:
            bad.append(errors.FieldViolation(f"capture[{i}].name", f"{name!r} is captured twice"))
        seen.add(name)
        if not pointer:
            bad.append(
                errors.FieldViolation(
                    f"capture[{i}].pointer", "is required: a JSON pointer such as /data/code"
                )
            )
        elif len(pointer) > MAX_POINTER_CHARS:
            bad.append(
                errors.FieldViolation(
                    f"capture[{i}].pointer", f"must be at most {MAX_POINTER_CHARS} characters"
                )
            )
        elif not _POINTER.fullmatch(pointer):
            bad.append(
                errors.FieldViolation(
                    f"capture[{i}].pointer",
                    f"{pointer[:80]!r} is not an RFC 6901 JSON pointer: it starts with / and "
                    "writes ~ as ~0 and / inside a key as ~1, e.g. /data/code",
                )
            )
    return bad


def tokens(pointer: str) -> list[str]:
    """The reference tokens of a valid pointer, unescaped (`~1` then `~0`, as RFC 6901
    says, so `~01` is `~1`)."""
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def resolve(document: Any, pointer: str) -> tuple[bool, Any]:
    """(True, the value) where `pointer` leads in `document`; (False, None) where it
    leads nowhere."""
    value = document
    for token in tokens(pointer):
        if isinstance(value, dict):
            if token not in value:
                return False, None
            value = value[token]
        elif isinstance(value, list):
            # "-" (past the end) and leading zeros never name an element.
            if not _ARRAY_INDEX.fullmatch(token) or int(token) >= len(value):
                return False, None
            value = value[int(token)]
        else:
            return False, None
    return True, value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def extract(
    captures: Sequence[domain.Capture], response: domain.HttpResponse
) -> Mapping[str, str] | None:
    """The captured values of a 2xx `response`; None when nothing was captured."""
    if not captures or not (200 <= response.status_code < 300) or response.body_truncated:
        return None
    try:
        document = json.loads(response.body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return None
    found: dict[str, str] = {}
    for capture in captures:
        exists, value = resolve(document, capture.pointer)
        if not exists:
            continue
        try:
            text = _as_text(value)
        except (ValueError, RecursionError):
            continue
        if len(text.encode("utf-8", "surrogatepass")) <= MAX_VALUE_BYTES:
            found[capture.name] = text
    return found or None
