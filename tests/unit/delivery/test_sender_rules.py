"""The sender's pure rules: what is sent, Retry-After, success."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from hooksmith_server import domain
from hooksmith_server.delivery.sender import Exchange, HttpSender, parse_retry_after


def request(*headers: domain.Header) -> domain.HttpRequest:
    return domain.HttpRequest("POST", "https://example.com/hook", headers, "{}")


def test_prepare_adds_the_default_user_agent_only_when_none_is_set() -> None:
    sent = HttpSender.prepare(request(domain.Header("X-A", "1")))
    assert sent.headers == (domain.Header("X-A", "1"), domain.Header("User-Agent", "Hooksmith/0.1"))
    own = domain.Header("user-agent", "Mine/2")
    assert HttpSender.prepare(request(own)).headers == (own,)


def test_prepare_drops_framing_headers_and_keeps_duplicates() -> None:
    sent = HttpSender.prepare(
        request(
            domain.Header("Content-Length", "999"),
            domain.Header("X-Dup", "1"),
            domain.Header("transfer-encoding", "chunked"),
            domain.Header("X-Dup", "2"),
            domain.Header("User-Agent", "Mine/2"),
        )
    )
    assert sent.headers == (
        domain.Header("X-Dup", "1"),
        domain.Header("X-Dup", "2"),
        domain.Header("User-Agent", "Mine/2"),
    )


NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        (format_datetime(NOW + timedelta(seconds=30), usegmt=True), 30.0),
        ("Wed, 01 Jan 2025 12:01:00 GMT", 60.0),
        (format_datetime(NOW - timedelta(hours=1), usegmt=True), 0.0),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("", None),
    ],
)
def test_parse_retry_after(value: str, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


@pytest.mark.parametrize(
    ("status", "succeeded"),
    [(200, True), (204, True), (299, True), (199, False), (301, False), (500, False)],
)
def test_succeeded_means_2xx(status: int, succeeded: bool) -> None:
    exchange = Exchange(
        request=request(),
        response=domain.HttpResponse(status, (), ""),
        error=None,
        retryable=False,
        retry_after=None,
        start_time=NOW,
        duration=timedelta(0),
    )
    assert exchange.succeeded is succeeded


def test_retry_after_dates_beyond_any_calendar_are_ignored() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("31 Dec 99999999999999999999 23:59:59", now) is None
    assert parse_retry_after("120", now) == 120.0
