"""HTTP rules for URLs and headers, applied to sources when compiled and to output when rendered.

Each check returns a description of what is wrong, or None.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from hooksmith_server.rendering import urls
from hooksmith_server.rendering.limits import Limits

# RFC 9110 §5.6.2: token = 1*tchar.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Control characters (C0, DEL, C1) except horizontal tab, which header values may hold.
_HEADER_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
# A URL holds no whitespace or control characters; rendered values are percent-encoded.
_URL_FORBIDDEN = re.compile(r"[\x00-\x20\x7f-\x9f]")
_HTTP_SCHEME = re.compile(r"https?://", re.IGNORECASE)
# Half of a UTF-16 pair: Jinja's `'\ud800'` and JSON's `"\ud800"` make one alone,
# and no UTF-8 encoder (signing, sending) accepts it.
_SURROGATE = re.compile("[\ud800-\udfff]")
_PORT_PROBLEM = "the URL port must be a number from 1 to 65535"
# RFC 1035 §2.3.4: 63 octets a label, 255 a name on the wire (253 characters written).
_MAX_LABEL_CHARS = 63
_MAX_HOST_CHARS = 253


def chars(count: int) -> str:
    """`count` for messages: 1,200,000."""
    return f"{count:,}"


# Set by the sender (framing, connection, target) or by signing; a spec may not set them.
RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
)


def header_name_problem(name: str) -> str | None:
    if not name:
        return "a header name is required"
    if not _TOKEN.fullmatch(name):
        return f"header name {name!r} is not a valid HTTP token"
    if name.lower() in RESERVED_HEADERS:
        return f"header {name!r} is set by Hooksmith and cannot be templated"
    return None


def header_size_problem(name: str, value: str, limits: Limits, *, rendered: bool) -> str | None:
    size = len(name) + len(value)
    if size <= limits.max_header_chars:
        return None
    what = "rendered header" if rendered else "header"
    return (
        f"{what} is {chars(size)} characters (name and value); "
        f"the limit is {chars(limits.max_header_chars)}"
    )


def _shown(character: str) -> str:
    return "space" if character == " " else repr(character)[1:-1]


def control_character_problem(value: str, *, rendered: bool) -> str | None:
    found = _HEADER_CONTROL.search(value)
    if found is None:
        return None
    what = "rendered value" if rendered else "value"
    return (
        f"{what} contains a control character ({_shown(found.group())} at position {found.start()})"
    )


def unicode_problem(text: str) -> str | None:
    """Whether rendered `text` can be encoded as UTF-8, as everything sent must be."""
    # isascii() is O(1) in CPython; the search runs only on text that may hold one.
    found = None if text.isascii() else _SURROGATE.search(text)
    if found is None:
        return None
    return f"rendered text is not valid Unicode (lone surrogate at position {found.start()})"


def source_size_problem(source: str, limit: int, what: str = "template") -> str | None:
    if len(source) <= limit:
        return None
    return f"{what} is {chars(len(source))} characters; the limit is {chars(limit)}"


def url_source_problem(source: str) -> str | None:
    if not _HTTP_SCHEME.match(source):
        return "the URL must start with http:// or https://"
    return None


def rendered_url_problem(url: str, limits: Limits) -> str | None:
    if len(url) > limits.max_url_chars:
        return (
            f"rendered URL is {chars(len(url))} characters; "
            f"the limit is {chars(limits.max_url_chars)}"
        )
    forbidden = _URL_FORBIDDEN.search(url)
    if forbidden is not None:
        return (
            "the URL contains a space or control character "
            f"({_shown(forbidden.group())} at position {forbidden.start()})"
        )
    # urlsplit reads `http://evil.com\@host/` as host `host`; yarl refuses it.
    if "\\" in url:
        return "the URL contains a backslash"
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return f"the URL cannot be parsed: {exc}"
    try:
        port = parts.port
    except ValueError:
        return _PORT_PROBLEM
    if port == 0:
        return _PORT_PROBLEM
    try:
        # What the sender parses; accepting only what it can send.
        wire = urls.wire_url(url)
    except ValueError as exc:
        return f"the URL cannot be parsed: {exc}"
    if parts.scheme not in ("http", "https") or wire.scheme not in ("http", "https"):
        return "the URL must start with http:// or https://"
    if not parts.hostname or not wire.raw_host:
        return "the URL has no host"
    return host_problem(wire.raw_host)


def host_problem(host: str) -> str | None:
    """Why the sender could never connect to `host` (as on the wire), or None.

    An IP address in any spelling the sender reads as one is fine. A host of digits and
    dots that is not one (`256.256.256.256`, `1.2.3.4.5`) is refused by aiohttp; a name
    needs labels of 1 to 63 characters, 253 in all (RFC 1035), or IDNA cannot encode it.
    """
    if urls.is_ip_literal(host):
        return None
    if host.replace(".", "").isdigit():
        return f"the URL host {host!r} is not a valid IP address"
    # One trailing dot makes the name fully qualified; it is not an empty label.
    name = host.removesuffix(".")
    if len(name) > _MAX_HOST_CHARS:
        return (
            f"the URL host is {chars(len(name))} characters; the limit is {chars(_MAX_HOST_CHARS)}"
        )
    labels = name.split(".")
    if not all(labels):
        return f"the URL host {host!r} has an empty label"
    longest = max(labels, key=len)
    if len(longest) > _MAX_LABEL_CHARS:
        return (
            f"the URL host has a label of {chars(len(longest))} characters "
            f"({longest[:20]}…); the limit is {_MAX_LABEL_CHARS}"
        )
    return None
