"""Masking of credentials in recorded requests and responses.

A masked value is `****` followed by a tail that never exceeds a quarter of the
value nor 4 characters: values of up to 8 characters keep nothing, 9–11 keep 2,
12–15 keep 3, 16 and longer keep 4. An empty value stays empty. A header value in the
form of an HTTP authorization (`Basic …`, `Bearer …`) keeps its scheme and masks the
credentials after it; Basic credentials keep no tail, since the last characters of their
base64 encode the last characters of the password.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from hooksmith_server import domain

MASK = "****"

SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
"""Header names (lower-case) whose values are always masked, flagged secret or not."""


def mask_value(value: str) -> str:
    """`value` with all but a short tail replaced by `****`."""
    if not value:
        return ""
    keep = min(4, len(value) // 4) if len(value) > 8 else 0
    return MASK + (value[-keep:] if keep else "")


def mask_header_value(value: str) -> str:
    """A sensitive header's value masked: an authorization keeps its scheme."""
    scheme, space, credentials = value.partition(" ")
    if space and scheme.lower() == "basic":
        return f"{scheme} {MASK}"
    if space and scheme.lower() == "bearer":
        return f"{scheme} {mask_value(credentials)}"
    return mask_value(value)


def is_sensitive(header: domain.Header) -> bool:
    """Whether a header's value must be masked in history."""
    return header.secret or header.name.lower() in SENSITIVE_HEADERS


def mask_headers(headers: Sequence[domain.Header]) -> tuple[domain.Header, ...]:
    """The headers with sensitive values masked; order, names and flags kept."""
    return tuple(
        domain.Header(h.name, mask_header_value(h.value), h.secret) if is_sensitive(h) else h
        for h in headers
    )


def mask_auth(auth: domain.Auth | None) -> domain.Auth | None:
    """`auth` with its secret (password, token or client secret) masked like a header value."""
    if isinstance(auth, domain.BasicAuth):
        return replace(auth, password=mask_value(auth.password))
    if isinstance(auth, domain.BearerAuth):
        return replace(auth, token=mask_value(auth.token))
    if isinstance(auth, domain.OAuth2ClientCredentials):
        return replace(auth, client_secret=mask_value(auth.client_secret))
    return None
