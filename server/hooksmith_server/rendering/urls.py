"""A rendered URL as the sender puts it on the wire.

Rendering checks URLs with the same parser the sender uses, so a URL that renders
is a URL that can be sent, and the receiver sees the path that history shows.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import quote

import yarl

_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# RFC 3986 §3.2: the authority ends at the first "/", "?" or "#".
_AUTHORITY_END = re.compile(r"[/?#]")
# inet_aton reads decimal, octal (leading 0) and hex (0x) parts, 1 to 4 of them;
# only a host made of those characters can be such a literal, never a DNS name.
_NUMERIC_V4 = re.compile(r"[0-9a-fA-FxX.]+", re.ASCII)


def _ascii(text: str) -> str:
    return _NON_ASCII.sub(lambda found: quote(found.group(), safe=""), text)


def wire_url(url: str) -> yarl.URL:
    """`url` exactly as it is sent; raises ValueError when it cannot be sent.

    Nothing is normalised: `..`, `%2e%2e` and `%2F` reach the receiver as rendered
    (a normalising parser would send `/users/../coupons` as `/coupons`). Non-ASCII
    text is mapped the way an IRI maps to a URI (RFC 3987 §3.1): UTF-8
    percent-encoding, and IDNA for the host.
    """
    if url.isascii():
        return yarl.URL(url, encoded=True)
    scheme, separator, rest = url.partition("://")
    found = _AUTHORITY_END.search(rest)
    end = found.start() if found is not None else len(rest)
    userinfo, at, host_port = rest[:end].rpartition("@")
    parsed = yarl.URL(
        f"{scheme}{separator}{_ascii(userinfo)}{at}{host_port}{_ascii(rest[end:])}", encoded=True
    )
    host = parsed.raw_host
    if host is not None and not host.isascii():
        parsed = parsed.with_host(host)  # IDNA-encodes; raises UnicodeError (a ValueError)
    return parsed


def is_ip_literal(host: str) -> bool:
    """Whether the sender reads `host` as an IP address rather than a name to resolve.

    The reading of `EgressGuard.literal_address` (delivery/egress.py), which the sender
    applies before it connects: IPv6 (brackets and zone id allowed), or any spelling
    inet_aton accepts, such as `2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1`, with
    one trailing dot allowed.
    """
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
        return True
    host = host.removesuffix(".")
    if not _NUMERIC_V4.fullmatch(host):
        return False
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return True
