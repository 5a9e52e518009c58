"""The sender against real aiohttp receivers on loopback."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from aiohttp import web
from multidict import CIMultiDict
from standardwebhooks.webhooks import Webhook

from hooksmith_server import domain
from hooksmith_server.delivery import signing
from hooksmith_server.delivery.sender import HttpSender
from tests.harness.receiver import RECEIVER, Handler, StartReceiver

BODY = '{"order": 42, "name": "Zoë ✓"}'


def post(url: str, *headers: domain.Header, body: str = BODY) -> domain.HttpRequest:
    return domain.HttpRequest("POST", url, headers, body)


def status(code: int, body: str = "", headers: dict[str, str] | None = None) -> Handler:
    async def handle(_request: web.Request) -> web.StreamResponse:
        return web.Response(status=code, text=body, headers=headers)

    return handle


async def test_200_sends_exactly_our_headers_and_body_and_records_the_response(
    start_receiver: StartReceiver, sender: HttpSender
) -> None:
    async def ok(_request: web.Request) -> web.StreamResponse:
        headers = CIMultiDict([("Set-Cookie", "a=1"), ("X-Reply", "yes"), ("Set-Cookie", "b=2")])
        return web.Response(text="thanks ✓", headers=headers)

    receiver = await start_receiver(routes={"/hook": ok})
    secret = signing.new_secret()
    ours = (
        domain.Header("Content-Type", "application/json"),
        domain.Header("X-Dup", "one"),
        domain.Header("Authorization", "Bearer token-0123456789"),
        domain.Header("X-Dup", "two"),
        *signing.signed_headers([secret], "msg_1", int(time.time()), BODY),
    )

    outcome = await sender.send(post(receiver.url("/hook?x=1"), *ours), timeout=5)

    assert outcome.error is None
    assert outcome.succeeded
    assert not outcome.retryable
    [seen] = receiver.received
    assert (seen.method, seen.path_qs) == ("POST", "/hook?x=1")
    assert seen.body == BODY.encode()
    sent = (*((h.name, h.value) for h in ours), ("User-Agent", "Hooksmith/0.1"))
    framing = {"Host": f"127.0.0.1:{receiver.port}", "Content-Length": str(len(BODY.encode()))}
    assert [h for h in seen.headers if h[0] not in framing] == list(sent)
    assert {k: v for k, v in seen.headers if k in framing} == framing
    Webhook(secret).verify(seen.body, dict(seen.headers))

    assert outcome.request.headers == (*ours, domain.Header("User-Agent", "Hooksmith/0.1"))
    assert outcome.request.body == BODY
    response = outcome.response
    assert response is not None
    assert (response.status_code, response.body, response.body_truncated) == (
        200,
        "thanks ✓",
        False,
    )
    assert [(h.name, h.value) for h in response.headers if h.name == "Set-Cookie"] == [
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
    ]
    assert domain.Header("X-Reply", "yes") in response.headers
    assert outcome.start_time.tzinfo is not None
    assert abs(outcome.start_time - datetime.now(UTC)) < timedelta(seconds=10)
    assert timedelta(0) < outcome.duration < timedelta(seconds=5)


async def test_cookies_do_not_persist_between_requests(
    start_receiver: StartReceiver, sender: HttpSender
) -> None:
    receiver = await start_receiver(
        routes={"/": status(200, headers={"Set-Cookie": "session=abc"})}
    )
    for _ in range(2):
        assert (await sender.send(post(receiver.url("/")), timeout=5)).succeeded
    assert all("Cookie" not in dict(seen.headers) for seen in receiver.received)


async def test_500_is_retryable_with_its_body(
    start_receiver: StartReceiver, sender: HttpSender
) -> None:
    receiver = await start_receiver(routes={"/": status(500, "boom")})
    outcome = await sender.send(post(receiver.url("/")), timeout=5)
    assert outcome.response is not None
    assert (outcome.response.status_code, outcome.response.body) == (500, "boom")
    assert (outcome.error, outcome.retryable, outcome.succeeded) == (None, True, False)


@pytest.mark.parametrize(("code", "retryable"), [(400, False), (404, False), (408, True)])
async def test_4xx_is_final_except_408(
    start_receiver: StartReceiver, sender: HttpSender, code: int, retryable: bool
) -> None:
    receiver = await start_receiver(routes={"/": status(code, "nope", {"Retry-After": "3"})})
    outcome = await sender.send(post(receiver.url("/")), timeout=5)
    assert outcome.response is not None
    assert outcome.response.status_code == code
    assert (outcome.error, outcome.retryable) == (None, retryable)
    assert outcome.retry_after == (3.0 if retryable else None)


async def test_redirect_is_not_followed(start_receiver: StartReceiver, sender: HttpSender) -> None:
    target = await start_receiver(routes={"/target": status(200)})
    location = target.url("/target")
    receiver = await start_receiver(routes={"/": status(302, headers={"Location": location})})

    outcome = await sender.send(post(receiver.url("/")), timeout=5)

    assert outcome.error == f"redirect (302) not followed: Location {location}"
    assert outcome.response is not None
    assert outcome.response.status_code == 302
    assert domain.Header("Location", location) in outcome.response.headers
    assert not outcome.retryable
    assert not outcome.succeeded
    assert len(receiver.received) == 1
    assert target.received == []


async def test_429_retry_after_seconds(start_receiver: StartReceiver, sender: HttpSender) -> None:
    receiver = await start_receiver(routes={"/": status(429, headers={"Retry-After": "7"})})
    outcome = await sender.send(post(receiver.url("/")), timeout=5)
    assert (outcome.retryable, outcome.retry_after) == (True, 7.0)


async def test_503_retry_after_http_date(start_receiver: StartReceiver, sender: HttpSender) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    receiver = await start_receiver(routes={"/": status(503, headers={"Retry-After": when})})
    outcome = await sender.send(post(receiver.url("/")), timeout=5)
    assert outcome.retryable
    assert outcome.retry_after is not None
    assert 25.0 <= outcome.retry_after <= 30.0


async def test_slow_receiver_times_out_and_is_retryable(
    start_receiver: StartReceiver, sender: HttpSender
) -> None:
    async def slow(request: web.Request) -> web.StreamResponse:
        release = request.app[RECEIVER].release
        # Bounded: teardown sets `release`, and 10 s is far past the sender's timeout.
        await asyncio.wait_for(release.wait(), timeout=10)
        return web.Response(text="late")

    receiver = await start_receiver(routes={"/": slow})
    started = time.monotonic()
    outcome = await sender.send(post(receiver.url("/")), timeout=0.3)
    assert outcome.error == "timed out after 0.3 s"
    assert (outcome.response, outcome.retryable) == (None, True)
    assert time.monotonic() - started < 2.0
    assert timedelta(seconds=0.25) < outcome.duration < timedelta(seconds=2)


async def test_trickling_body_is_cut_off_by_the_total_timeout(
    start_receiver: StartReceiver, sender: HttpSender
) -> None:
    sent_bytes = 0

    async def trickle(request: web.Request) -> web.StreamResponse:
        nonlocal sent_bytes
        response = web.StreamResponse(headers={"Content-Length": "100"})
        await response.prepare(request)
        release = request.app[RECEIVER].release
        for _ in range(100):  # 10 s at most, far past the sender's timeout
            if release.is_set():
                break
            try:
                await response.write(b"x")
            except ConnectionError:
                break
            sent_bytes += 1
            await asyncio.sleep(0.1)
        return response

    receiver = await start_receiver(routes={"/": trickle})
    started = time.monotonic()
    outcome = await sender.send(post(receiver.url("/")), timeout=0.5)
    assert outcome.error == "timed out after 0.5 s"
    assert outcome.retryable
    assert time.monotonic() - started < 2.0
    assert 1 <= sent_bytes < 100


async def test_large_body_is_truncated_to_the_cap(
    start_receiver: StartReceiver, sender: HttpSender
) -> None:
    receiver = await start_receiver(
        routes={"/big": status(200, "a" * 200 * 1024), "/exact": status(200, "b" * 65_536)}
    )
    big = await sender.send(post(receiver.url("/big")), timeout=5)
    assert big.response is not None
    assert big.response.body_truncated
    assert big.response.body == "a" * 65_536
    assert big.succeeded

    exact = await sender.send(post(receiver.url("/exact")), timeout=5)
    assert exact.response is not None
    assert not exact.response.body_truncated
    assert exact.response.body == "b" * 65_536


async def test_connection_refused_is_retryable(sender: HttpSender, closed_port: int) -> None:
    outcome = await sender.send(post(f"http://127.0.0.1:{closed_port}/"), timeout=5)
    assert outcome.error == f"connection refused to 127.0.0.1:{closed_port}"
    assert (outcome.response, outcome.retryable) == (None, True)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "http:///path", "not a url"])
async def test_invalid_url_is_final(sender: HttpSender, url: str) -> None:
    outcome = await sender.send(post(url), timeout=5)
    assert outcome.error is not None
    assert outcome.error.startswith("invalid URL: ")
    assert not outcome.retryable


async def test_header_injection_is_refused_before_anything_is_sent(
    start_receiver: StartReceiver, sender: HttpSender
) -> None:
    receiver = await start_receiver(routes={"/": status(200)})
    bad = domain.Header("X-A", "a\r\nX-Injected: 1")
    outcome = await sender.send(post(receiver.url("/"), bad), timeout=5)
    assert outcome.error is not None
    assert outcome.error.startswith("invalid request: ")
    assert not outcome.retryable
    assert receiver.received == []


async def test_env_proxy_is_never_used(
    start_receiver: StartReceiver, sender: HttpSender, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = await start_receiver(routes={"/{tail:.*}": status(200)})
    receiver = await start_receiver(routes={"/": status(200)})
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, proxy.url("/"))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert (await sender.send(post(receiver.url("/")), timeout=5)).succeeded
    assert (len(receiver.received), proxy.received) == (1, [])
