"""Limits on webhook templates and on the requests they render."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """How large templates and rendered requests may be, and how long rendering may take."""

    max_source_chars: int = 65_536
    """Source of one template field: the URL, one header value, the whole body."""
    max_rendered_chars: int = 1_048_576
    """One rendered request: URL, header names and values, and body together."""
    max_headers: int = 50
    """Headers one webhook may define."""
    max_header_chars: int = 8_192
    """Name plus value of one header, both as written and as rendered."""
    max_url_chars: int = 8_192
    """The URL, both as written and as rendered."""
    max_render_seconds: float = 0.2
    """Time one request may take to render; a usual one takes tens of microseconds."""


@dataclass(frozen=True)
class DataLimits:
    """How much caller data (`data`, a recipient's `tags` and `entry_event`) a call may carry.

    Checked as the request is read, before any value reaches a template, so that no single
    step of a template (a `sort`, a `join`, a `tojson` running in C) works on more than a
    few hundred KiB. Sizes count every key and string by its UTF-8 bytes and every other
    value (a number, a boolean, a null, a list, an object) as 8 bytes.
    """

    max_depth: int = 32
    """Levels of nesting in one value; the value itself is level 1, so `{"a": [1]}` has 2."""
    max_items: int = 2_000
    """Object keys and list items in one value, at every level together: an order of 100
    lines of 15 fields fits. Measured: sorting and joining 2,000 items in a template
    takes 3–12 ms, a few percent of `Limits.max_render_seconds`; 10,000 took 25–90 ms."""
    max_data_bytes: int = 262_144
    """Size of `data` (256 KiB)."""
    max_recipient_bytes: int = 65_536
    """Size of one recipient's `tags` and `entry_event` together (64 KiB)."""
    max_call_bytes: int = 16_777_216
    """Caller data one call stores (16 MiB): `data` once per recipient, since every
    message keeps its own copy, plus every recipient's `tags` and `entry_event`."""
