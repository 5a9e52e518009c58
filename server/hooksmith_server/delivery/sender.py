"""The HTTP sender: one attempt at one request, always answered with an `Exchange`.

Redirects are not followed, the egress guard is applied where the socket is opened,
one total timeout bounds connect, headers and body, and at most `max_response_bytes`
of the response body are read. Only cancellation escapes `send` as an exception.
"""

from __future__ import annotations

import asyncio
import email.utils
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import aiohttp
import yarl

from hooksmith_server import domain
from hooksmith_server.delivery import egress
from hooksmith_server.rendering import urls

USER_AGENT = "Hooksmith/0.1"
"""Sent as `User-Agent` when the request sets none."""

# Framing is the sender's job: a templated Content-Length that disagrees with the body
# would desynchronise a pooled connection, so these are never taken from the request.
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding"})

# aiohttp would otherwise add Accept, Accept-Encoding, its own User-Agent and
# `Content-Type: application/octet-stream`; the receiver should see only what we set
# (plus Host and Content-Length, which HTTP/1.1 needs).
_SKIP_AUTO_HEADERS = ("Accept", "Accept-Encoding", "Content-Type", "User-Agent")

_NO_AIOHTTP_TIMEOUT = aiohttp.ClientTimeout(total=None)


@dataclass(frozen=True)
class Exchange:
    """One HTTP exchange: the request as sent and what came back, or why nothing did."""

    request: domain.HttpRequest
    """The request exactly as sent: the given headers plus a default User-Agent."""
    response: domain.HttpResponse | None
    """The response, or None when none arrived."""
    error: str | None
    """Why the attempt failed without a response, or why a 3xx is a failure; else None."""
    retryable: bool
    """Whether another attempt may succeed: connection errors, timeouts, 408, 429, 5xx."""
    retry_after: float | None
    """Seconds the receiver asked us to wait (`Retry-After` on a retryable response)."""
    start_time: datetime
    """When the attempt started (UTC)."""
    duration: timedelta
    """How long the attempt took."""

    @property
    def succeeded(self) -> bool:
        """Whether the receiver answered 2xx."""
        return self.response is not None and 200 <= self.response.status_code < 300


class HttpSender:
    """Sends webhook requests over one shared aiohttp session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        guard: egress.EgressGuard,
        *,
        max_response_bytes: int = 65_536,
    ) -> None:
        self._session = session
        self._guard = guard
        self._max_response_bytes = max_response_bytes

    @staticmethod
    def create_session(
        guard: egress.EgressGuard, *, limit: int = 512, limit_per_host: int = 0
    ) -> aiohttp.ClientSession:
        """The one session of the process, created at start-up; the caller closes it.

        Every name goes through `GuardedResolver`. Its DNS cache is safe: it only ever
        holds results that passed the guard.
        """
        connector = aiohttp.TCPConnector(
            resolver=egress.GuardedResolver(guard),
            limit=limit,
            limit_per_host=limit_per_host,
            ttl_dns_cache=10,
        )
        return aiohttp.ClientSession(
            connector=connector,
            trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            raise_for_status=False,
            timeout=_NO_AIOHTTP_TIMEOUT,
        )

    @staticmethod
    def prepare(request: domain.HttpRequest) -> domain.HttpRequest:
        """The request as it will be sent: framing headers dropped, User-Agent defaulted."""
        headers = tuple(h for h in request.headers if h.name.lower() not in _FRAMING_HEADERS)
        if not any(h.name.lower() == "user-agent" for h in headers):
            headers += (domain.Header("User-Agent", USER_AGENT),)
        return replace(request, headers=headers)

    # The timeout is part of the attempt's result ("timed out after 2.0 s", retryable),
    # not a deadline the caller could impose with asyncio.timeout around the call.
    async def send(self, request: domain.HttpRequest, *, timeout: float) -> Exchange:  # noqa: ASYNC109
        """Make one attempt; never raises except for cancellation."""
        start_time = datetime.now(UTC)
        started = time.monotonic()
        sent = self.prepare(request)

        def outcome(
            response: domain.HttpResponse | None = None,
            error: str | None = None,
            retryable: bool = False,
            retry_after: float | None = None,
        ) -> Exchange:
            duration = timedelta(seconds=time.monotonic() - started)
            return Exchange(sent, response, error, retryable, retry_after, start_time, duration)

        try:
            url = self._target(sent.url)
        except egress.EgressBlocked as exc:
            return outcome(error=str(exc))
        except ValueError as exc:
            return outcome(error=f"invalid URL: {exc}")

        try:
            async with asyncio.timeout(timeout):
                response = await self._exchange(sent, url)
        except TimeoutError:
            return outcome(error=f"timed out after {float(timeout)} s", retryable=True)
        except Exception as exc:
            error, retryable = describe_error(exc)
            return outcome(error=error, retryable=retryable)

        status = response.status_code
        if 300 <= status < 400:
            location = _header(response, "location")
            where = f"Location {location}" if location is not None else "no Location header"
            return outcome(response, f"redirect ({status}) not followed: {where}")
        if status in (408, 429) or status >= 500:
            value = _header(response, "retry-after")
            after = parse_retry_after(value, datetime.now(UTC)) if value is not None else None
            return outcome(response, retryable=True, retry_after=after)
        return outcome(response)

    def _target(self, raw_url: str) -> yarl.URL:
        """The URL to connect to; IP-literal hosts are checked and spelled canonically.

        The path and query go out exactly as rendered: `yarl.URL(raw_url)` would resolve
        `/users/../coupons` to `/coupons` while history shows the former.
        """
        url = urls.wire_url(raw_url)
        if url.scheme not in ("http", "https"):
            raise ValueError(f"scheme must be http or https: {raw_url!r}")
        host = url.raw_host
        if not host:
            raise ValueError(f"no host: {raw_url!r}")
        address = self._guard.check_host(host)
        # aiohttp skips the resolver for literals and spells them its own way, so we
        # connect to exactly the address that was checked (`2130706433` -> `127.0.0.1`).
        # with_host changes the authority only; the raw path and query are kept.
        if address is not None and str(address) != host:
            url = url.with_host(str(address))
        return url

    async def _exchange(self, sent: domain.HttpRequest, url: yarl.URL) -> domain.HttpResponse:
        async with self._session.request(
            sent.method,
            url,
            headers=[(h.name, h.value) for h in sent.headers],
            data=sent.body.encode() if sent.body else None,
            allow_redirects=False,
            skip_auto_headers=_SKIP_AUTO_HEADERS,
            timeout=_NO_AIOHTTP_TIMEOUT,
        ) as resp:
            body, truncated = await self._read_body(resp)
            headers = tuple(
                domain.Header(name.decode("utf-8", "replace"), value.decode("utf-8", "replace"))
                for name, value in resp.raw_headers
            )
            return domain.HttpResponse(resp.status, headers, body, truncated)

    async def _read_body(self, resp: aiohttp.ClientResponse) -> tuple[str, bool]:
        """At most the first `max_response_bytes` of the body, and whether there was more."""
        cap = self._max_response_bytes
        chunks: list[bytes] = []
        size = 0
        # One byte past the cap tells a body of exactly `cap` bytes from a longer one;
        # each read returns at least one byte, so this runs at most cap + 1 times.
        while size <= cap:
            chunk = await resp.content.read(cap + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        truncated = size > cap
        if truncated:
            # Drop the connection rather than drain an unbounded remainder.
            resp.close()
        return b"".join(chunks)[:cap].decode("utf-8", "replace"), truncated


def _header(response: domain.HttpResponse, name: str) -> str | None:
    return next((h.value for h in response.headers if h.name.lower() == name), None)


def parse_retry_after(value: str, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` value (delay-seconds or HTTP-date), or None."""
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):
        # A date no calendar holds (year 99999999999999999999) is no date at all.
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        if isinstance(current, aiohttp.ClientConnectorError):
            yield current.os_error
        current = current.__cause__ or current.__context__


def _endpoint(host: str, port: int | None) -> str:
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port is not None else host


def describe_error(exc: Exception) -> tuple[str, bool]:
    """A clear message for a failed attempt, and whether it is worth retrying."""
    for cause in _causes(exc):
        if isinstance(cause, egress.EgressBlocked):
            return str(cause), False
    if isinstance(exc, aiohttp.InvalidURL):
        return f"invalid URL: {exc}", False
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        where = _endpoint(exc.host, exc.port)
        return f"TLS certificate verification failed for {where}: {exc.certificate_error}", True
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"could not resolve {exc.host}: {_os_reason(exc.os_error)}", True
    if isinstance(exc, aiohttp.ClientConnectorError):
        where = _endpoint(exc.host, exc.port)
        if isinstance(exc.os_error, ConnectionRefusedError):
            return f"connection refused to {where}", True
        if isinstance(exc.os_error, ssl.SSLError):
            return f"TLS handshake with {where} failed: {_os_reason(exc.os_error)}", True
        return f"could not connect to {where}: {_os_reason(exc.os_error)}", True
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server closed the connection without a complete response", True
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"response body could not be read: {exc}", True
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"invalid response: {exc.message}", True
    if isinstance(exc, aiohttp.ClientError):
        return f"request failed: {type(exc).__name__}: {exc}", True
    if isinstance(exc, ValueError):
        # aiohttp refuses e.g. a header value with a line break before sending.
        return f"invalid request: {exc}", False
    if isinstance(exc, OSError):
        return f"connection error: {_os_reason(exc)}", True
    # Unknown, possibly the session closing at shutdown: let the retry schedule decide.
    return f"unexpected error: {type(exc).__name__}: {exc}", True


def _os_reason(error: OSError) -> str:
    return error.strerror or str(error) or type(error).__name__
