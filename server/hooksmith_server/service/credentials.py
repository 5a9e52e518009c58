"""Checks of a spec's `auth`: the provider credentials requests are sent with."""

from __future__ import annotations

import re

from hooksmith_server import domain, errors
from hooksmith_server.rendering import urls

MAX_USERNAME_CHARS = 256
MAX_SECRET_CHARS = 1_024
"""A password or client secret."""
MAX_TOKEN_CHARS = 8_192
MAX_TOKEN_URL_CHARS = 2_048
MAX_CLIENT_ID_CHARS = 256
MAX_SCOPES = 50
MAX_SCOPE_CHARS = 256
MAX_AUDIENCE_CHARS = 1_024

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# RFC 6750 section 2.1 and the like: a bearer token is visible ASCII, no spaces.
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")
# RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


def problems(
    auth: domain.Auth | None, headers: tuple[domain.Header, ...]
) -> list[errors.FieldViolation]:
    """What is wrong with `auth` (fields named as in `WebhookSpec`), and headers it clashes with."""
    if auth is None:
        return []
    bad: list[errors.FieldViolation] = []
    if isinstance(auth, domain.BasicAuth):
        field = "auth.basic"
        _text(bad, f"{field}.username", auth.username, MAX_USERNAME_CHARS, required=True)
        if ":" in auth.username:
            bad.append(
                errors.FieldViolation(
                    f"{field}.username", "must not contain ':' (it separates the password)"
                )
            )
        _text(bad, f"{field}.password", auth.password, MAX_SECRET_CHARS, required=False)
    elif isinstance(auth, domain.BearerAuth):
        _token(bad, "auth.bearer.token", auth.token)
    else:
        field = "auth.oauth2_client_credentials"
        _token_url(bad, f"{field}.token_url", auth.token_url)
        _text(bad, f"{field}.client_id", auth.client_id, MAX_CLIENT_ID_CHARS, required=True)
        _text(bad, f"{field}.client_secret", auth.client_secret, MAX_SECRET_CHARS, required=True)
        _scopes(bad, f"{field}.scopes", auth.scopes)
        _text(bad, f"{field}.audience", auth.audience, MAX_AUDIENCE_CHARS, required=False)
    for i, header in enumerate(headers):
        if header.name.lower() == "authorization":
            bad.append(
                errors.FieldViolation(
                    f"headers[{i}].name",
                    "the Authorization header is made from auth; remove this header or auth",
                )
            )
    return bad


def _text(
    bad: list[errors.FieldViolation], field: str, value: str, limit: int, *, required: bool
) -> None:
    if not value:
        if required:
            bad.append(errors.FieldViolation(field, "is required"))
        return
    if len(value) > limit:
        bad.append(errors.FieldViolation(field, f"must be at most {limit:,} characters"))
    elif _CONTROL.search(value):
        bad.append(errors.FieldViolation(field, "must not contain control characters"))


def _token(bad: list[errors.FieldViolation], field: str, token: str) -> None:
    if not token:
        bad.append(errors.FieldViolation(field, "is required"))
    elif len(token) > MAX_TOKEN_CHARS:
        bad.append(errors.FieldViolation(field, f"must be at most {MAX_TOKEN_CHARS:,} characters"))
    elif not _VISIBLE_ASCII.fullmatch(token):
        bad.append(
            errors.FieldViolation(
                field, "must be printable ASCII without spaces (the token alone, no 'Bearer ')"
            )
        )


def _token_url(bad: list[errors.FieldViolation], field: str, url: str) -> None:
    if not url:
        bad.append(errors.FieldViolation(field, "is required"))
        return
    if len(url) > MAX_TOKEN_URL_CHARS:
        bad.append(
            errors.FieldViolation(field, f"must be at most {MAX_TOKEN_URL_CHARS:,} characters")
        )
        return
    if _CONTROL.search(url) or " " in url:
        bad.append(errors.FieldViolation(field, "must not contain spaces or control characters"))
        return
    try:
        parsed = urls.wire_url(url)
        host = parsed.raw_host
        port = parsed.port  # raises ValueError for a port that is not a number
    except ValueError as e:
        bad.append(errors.FieldViolation(field, f"is not a valid URL: {e}"))
        return
    if parsed.scheme not in ("http", "https"):
        bad.append(errors.FieldViolation(field, "must be an http:// or https:// URL"))
    elif not host:
        bad.append(errors.FieldViolation(field, "must name a host"))
    elif port is not None and not (1 <= port <= 65_535):
        bad.append(errors.FieldViolation(field, "the URL port must be a number from 1 to 65535"))
    elif parsed.raw_user is not None:
        bad.append(
            errors.FieldViolation(
                field, "must not carry credentials; client_id and client_secret are sent apart"
            )
        )


def _scopes(bad: list[errors.FieldViolation], field: str, scopes: tuple[str, ...]) -> None:
    if len(scopes) > MAX_SCOPES:
        bad.append(errors.FieldViolation(field, f"at most {MAX_SCOPES} scopes, got {len(scopes)}"))
        return
    for i, scope in enumerate(scopes):
        if len(scope) > MAX_SCOPE_CHARS:
            bad.append(
                errors.FieldViolation(
                    f"{field}[{i}]", f"must be at most {MAX_SCOPE_CHARS} characters"
                )
            )
        elif not _SCOPE.fullmatch(scope):
            bad.append(
                errors.FieldViolation(
                    f"{field}[{i}]",
                    "must be one scope: printable ASCII without spaces, '\"' or '\\'",
                )
            )
