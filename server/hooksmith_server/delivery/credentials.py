"""The Authorization header of a webhook's requests, made at send time from its `auth`.

Basic and Bearer headers come from the spec alone. An OAuth2 client credentials token
is fetched from the token endpoint through the sender (so the egress guard and the
attempt's timeout apply to it as to any delivery) and kept by `Credentials`, one
object per process, per webhook and credentials, until shortly before it expires:
every attempt of the process shares it, and attempts that need a token at the same
moment share one request for it. A receiver that answers 401 makes the deliverer drop
the token and ask once more (`reject`). Tokens and secrets are never logged; history
shows the Authorization header masked (`masking.py`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote_plus, urlencode

from hooksmith_server import domain
from hooksmith_server.delivery import masking, ports

HEADER = "Authorization"

REFRESH_MARGIN = 30.0
"""Seconds before a token expires that it is fetched again (at most a tenth of its life)."""
DEFAULT_LIFETIME = 3_600.0
"""Seconds a token answered without `expires_in` is used."""
MAX_LIFETIME = 86_400.0
"""Seconds a token is used at most, whatever `expires_in` says."""
CACHE_SIZE = 10_000
"""Tokens kept per process, the least recently used dropped first."""
MAX_TOKEN_CHARS = 8_192
_EXCERPT_CHARS = 200


class TokenError(Exception):
    """The token endpoint gave no usable token; the message says why."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


def basic_value(username: str, password: str) -> str:
    """`Basic base64(username:password)`, UTF-8 (RFC 7617)."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def static_header(auth: domain.BasicAuth | domain.BearerAuth) -> domain.Header:
    if isinstance(auth, domain.BasicAuth):
        return domain.Header(HEADER, basic_value(auth.username, auth.password), secret=True)
    return domain.Header(HEADER, f"Bearer {auth.token}", secret=True)


def preview_header(auth: domain.Auth) -> domain.Header:
    """The header as Render shows it: masked; an OAuth2 token is not fetched for a preview."""
    if isinstance(auth, domain.OAuth2ClientCredentials):
        return domain.Header(HEADER, f"Bearer {masking.MASK}", secret=True)
    header = static_header(auth)
    return domain.Header(HEADER, masking.mask_header_value(header.value), secret=True)


def token_request(auth: domain.OAuth2ClientCredentials) -> domain.HttpRequest:
    """The client credentials grant (RFC 6749 section 4.4), the client authenticated with
    HTTP Basic, its id and secret form-encoded first (section 2.3.1)."""
    form = {"grant_type": "client_credentials"}
    if auth.scopes:
        form["scope"] = " ".join(auth.scopes)
    if auth.audience:
        form["audience"] = auth.audience
    client = basic_value(quote_plus(auth.client_id), quote_plus(auth.client_secret))
    headers = (
        domain.Header(HEADER, client, secret=True),
        domain.Header("Content-Type", "application/x-www-form-urlencoded"),
        domain.Header("Accept", "application/json"),
    )
    return domain.HttpRequest("POST", auth.token_url, headers, urlencode(form))


@dataclass(frozen=True)
class _Token:
    value: str = field(repr=False)
    refresh_at: float
    """On the monotonic clock: from then on the token is fetched again."""


_Key = tuple[uuid.UUID, uuid.UUID, domain.OAuth2ClientCredentials]


class Credentials:
    """Authorization headers for attempts, with OAuth2 tokens cached; one per process."""

    def __init__(
        self,
        sender: ports.Sender,
        *,
        clock: Callable[[], float] = time.monotonic,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self._sender = sender
        self._clock = clock
        self._cache_size = cache_size
        # Keyed by the credentials too: an Update with new ones fetches a new token.
        self._tokens: OrderedDict[_Key, _Token] = OrderedDict()
        self._fetches: dict[_Key, asyncio.Future[str]] = {}

    async def header(
        self,
        workspace_id: uuid.UUID,
        webhook_id: uuid.UUID,
        auth: domain.Auth | None,
        *,
        timeout: float,  # noqa: ASYNC109 (the token request's own timeout, as the sender's)
        fetch_timeout: float | None = None,
    ) -> domain.Header | None:
        """The Authorization header to send, None without `auth`; raises `TokenError`.

        A token fetch waited on for more than `timeout` seconds is a `TokenError` too. A
        fetch this call starts may take `fetch_timeout` (default `timeout`): other
        attempts share it, so it must not end with this one's time left.
        """
        if auth is None:
            return None
        if not isinstance(auth, domain.OAuth2ClientCredentials):
            return static_header(auth)
        key = (workspace_id, webhook_id, auth)
        token = await self._token(key, timeout, fetch_timeout or timeout)
        return domain.Header(HEADER, f"Bearer {token}", secret=True)

    def reject(
        self, workspace_id: uuid.UUID, webhook_id: uuid.UUID, auth: domain.Auth, sent: str
    ) -> None:
        """The receiver answered 401 to the header value `sent`: forget its token.

        A token fetched since (another attempt's 401 came first) is kept.
        """
        if not isinstance(auth, domain.OAuth2ClientCredentials):
            return
        key = (workspace_id, webhook_id, auth)
        cached = self._tokens.get(key)
        if cached is not None and sent == f"Bearer {cached.value}":
            del self._tokens[key]

    async def _token(self, key: _Key, timeout: float, fetch_timeout: float) -> str:  # noqa: ASYNC109
        cached = self._tokens.get(key)
        if cached is not None and self._clock() < cached.refresh_at:
            self._tokens.move_to_end(key)
            return cached.value
        fetch = self._fetches.get(key)
        if fetch is None:
            fetch = asyncio.ensure_future(self._fetch(key, fetch_timeout))
            self._fetches[key] = fetch
            fetch.add_done_callback(lambda done: self._landed(key, done))
        try:
            async with asyncio.timeout(timeout):
                # Shielded: an attempt cut short does not cancel the fetch others wait on.
                return await asyncio.shield(fetch)
        except TimeoutError:
            raise TokenError(
                f"token endpoint {key[2].token_url} did not answer within {float(timeout)} s",
                retryable=True,
            ) from None

    def _landed(self, key: _Key, done: asyncio.Future[str]) -> None:
        if self._fetches.get(key) is done:
            del self._fetches[key]
        if not done.cancelled():
            done.exception()  # retrieved here when every waiter gave up

    async def _fetch(self, key: _Key, timeout: float) -> str:  # noqa: ASYNC109
        auth = key[2]
        sent = await self._sender.send(token_request(auth), timeout=timeout)
        token, lifetime = _read(auth.token_url, sent.response, sent.error, sent.retryable)
        margin = min(REFRESH_MARGIN, lifetime / 10)
        self._tokens[key] = _Token(token, self._clock() + lifetime - margin)
        self._tokens.move_to_end(key)
        while len(self._tokens) > self._cache_size:
            self._tokens.popitem(last=False)
        return token


def _read(
    url: str, response: domain.HttpResponse | None, error: str | None, retryable: bool
) -> tuple[str, float]:
    """The token and its lifetime in seconds from the token endpoint's answer."""
    where = f"token endpoint {url}"
    if response is None:
        raise TokenError(f"{where} could not be reached: {error}", retryable=retryable)
    status = response.status_code
    if not 200 <= status < 300:
        raise TokenError(f"{where} answered {status}: {_excerpt(response.body)}", retryable=True)
    try:
        answer = json.loads(response.body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        # The body is not repeated: a success in another format may well hold a token.
        kind = next((h.value for h in response.headers if h.name.lower() == "content-type"), "none")
        raise TokenError(
            f"{where} answered {status} without a JSON object (Content-Type: {kind})",
            retryable=True,
        )
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise TokenError(f"{where} answered {status} without an access_token", retryable=True)
    if len(token) > MAX_TOKEN_CHARS or not all("\x21" <= c <= "\x7e" for c in token):
        raise TokenError(
            f"{where} answered an access_token that cannot be sent in a header "
            f"(printable ASCII without spaces, at most {MAX_TOKEN_CHARS:,} characters)",
            retryable=True,
        )
    kind = answer.get("token_type", "Bearer")
    if not isinstance(kind, str) or kind.lower() != "bearer":
        raise TokenError(
            f"{where} answered token_type {kind!r}; only Bearer tokens are supported",
            retryable=True,
        )
    return token, _lifetime(answer.get("expires_in"))


def _lifetime(expires_in: object) -> float:
    # bool is an int, but `true` is no lifetime.
    if isinstance(expires_in, bool) or not isinstance(expires_in, str | int | float):
        return DEFAULT_LIFETIME
    if isinstance(expires_in, int):
        # JSON numbers may be any size; float() of 10**400 overflows.
        expires_in = max(min(expires_in, int(MAX_LIFETIME)), -1)
    try:
        seconds = float(expires_in)
    except ValueError:
        return DEFAULT_LIFETIME
    # NaN fails the comparison.
    return min(seconds, MAX_LIFETIME) if seconds >= 0 else DEFAULT_LIFETIME


def _excerpt(body: str) -> str:
    text = " ".join(body.split())
    if not text:
        return "(no body)"
    return text if len(text) <= _EXCERPT_CHARS else text[:_EXCERPT_CHARS] + "…"
