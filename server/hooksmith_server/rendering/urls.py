"""A rendered URL as the sender puts it on the wire.

Rendering checks URLs with the same parser the sender uses, so a URL that renders
is a URL that can be sent, and the receiver sees the path that history shows.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import yarl

_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# RFC 3986 §3.2: the authority ends at the first "/", "?" or "#".
_AUTHORITY_END = re.compile(r"[/?#]")


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
