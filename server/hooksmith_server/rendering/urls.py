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


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def static_host(source: str) -> str | None:
    """The host a URL template names, lower-cased; None when a template can change it."""
    _, separator, rest = source.partition("://")
    if not separator:
        return None
    found = _AUTHORITY_END.search(rest)
    authority = rest[: found.start()] if found is not None else rest
    if "{" in authority:
        return None
    host = authority.rpartition("@")[2]
    # Without the port: `[::1]:8080` names `[::1]`, `api.example:443` names `api.example`.
    host = host[: host.find("]") + 1] if host.startswith("[") else host.partition(":")[0]
    return host.lower() or None


def literal_address(host: str) -> IPAddress | None:
    """The address an IP-literal host means, in any spelling; None for a DNS name.

    This is the one reading of a host used everywhere: rendering uses it to check
    a URL, the sender to decide what it connects to. `2130706433`, `0x7f000001`,
    `0177.0.0.1`, `127.1` and `127.0.0.1.` all give 127.0.0.1 (any spelling
    inet_aton accepts, with one trailing dot); `[::1]` and `::1` give ::1. An IPv6
    zone id is dropped here (the egress guard refuses it).
    """
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        try:
            address = ipaddress.IPv6Address(host)
        except ValueError:
            return None
        return ipaddress.IPv6Address(int(address)) if address.scope_id is not None else address
    # A fully qualified name may end in one dot; getaddrinfo ignores it.
    host = host.removesuffix(".")
    if not _NUMERIC_V4.fullmatch(host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def is_ip_literal(host: str) -> bool:
    """Whether the sender reads `host` as an IP address rather than a name to resolve."""
    return literal_address(host) is not None
