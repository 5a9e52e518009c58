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
