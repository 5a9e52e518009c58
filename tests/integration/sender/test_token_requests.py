"""OAuth2 token requests through the real sender: the egress guard, unreachable and
misbehaving endpoints, and one request shared by concurrent attempts."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiohttp import web

from hooksmith_server import domain
from hooksmith_server.delivery.credentials import Credentials, TokenError
from hooksmith_server.delivery.sender import HttpSender
from tests.harness.network import Listener
from tests.harness.receiver import Received, StartReceiver

WORKSPACE = uuid.UUID(int=1)
WEBHOOK = uuid.UUID(int=2)


def auth(token_url: str, client_id: str = "client") -> domain.OAuth2ClientCredentials:
    return domain.OAuth2ClientCredentials(token_url, client_id, "secret")


async def header(tokens: Credentials, token_url: str, timeout: float = 5.0) -> str:
    made = await tokens.header(WORKSPACE, WEBHOOK, auth(token_url), timeout=timeout)
    assert made is not None
    return made.value


async def test_a_token_endpoint_the_guard_refuses_is_never_connected_and_not_retried(
    strict_sender: HttpSender, listener: Listener
) -> None:
    url = f"http://127.0.0.1:{listener.port}/token"
    with pytest.raises(TokenError) as caught:
        await header(Credentials(strict_sender), url)
    await asyncio.sleep(0.05)
    assert caught.value.message.startswith(f"token endpoint {url} could not be reached: egress")
    assert "is blocked: loopback" in caught.value.message
    assert caught.value.retryable is False
    assert listener.connections == 0


async def test_a_refused_connection_is_a_retryable_error_naming_the_endpoint(
    sender: HttpSender, closed_port: int
) -> None:
    url = f"http://127.0.0.1:{closed_port}/token"
    with pytest.raises(TokenError) as caught:
        await header(Credentials(sender), url)
    assert caught.value.message == (
        f"token endpoint {url} could not be reached: connection refused to 127.0.0.1:{closed_port}"
    )
    assert caught.value.retryable is True


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (lambda: web.json_response({"access_token": "t", "token_type": "mac"}), "token_type 'mac'"),
        (lambda: web.json_response({"access_token": "a b"}), "cannot be sent in a header"),
        (lambda: web.json_response({"access_token": 7}), "without an access_token"),
        (lambda: web.json_response(["access_token"]), "without a JSON object"),
        (lambda: web.Response(status=302, headers={"Location": "/x"}), "answered 302: (no body)"),
    ],
)
async def test_unusable_answers_are_clear_errors(
    sender: HttpSender, start_receiver: StartReceiver, answer: object, expected: str
) -> None:
    def respond(_: Received, __: int) -> web.Response:
        return answer()  # type: ignore[operator, no-any-return]

    endpoint = await start_receiver(respond)
    with pytest.raises(TokenError) as caught:
        await header(Credentials(sender), endpoint.url("/token"))
    assert caught.value.message.startswith(f"token endpoint {endpoint.url('/token')} ")
    assert expected in caught.value.message
    assert caught.value.retryable is True


async def test_a_slow_endpoint_fails_within_the_timeout(
    sender: HttpSender, start_receiver: StartReceiver
) -> None:
    async def slow(_: Received, __: int) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response({"access_token": "late"})

    endpoint = await start_receiver(slow)
    started = asyncio.get_running_loop().time()
    with pytest.raises(TokenError) as caught:
        await header(Credentials(sender), endpoint.url("/token"), timeout=0.3)
    assert asyncio.get_running_loop().time() - started < 2
    assert caught.value.message.startswith(f"token endpoint {endpoint.url('/token')} ")
    assert caught.value.retryable is True


async def test_concurrent_attempts_share_one_request_and_credentials_are_kept_apart(
    sender: HttpSender, start_receiver: StartReceiver
) -> None:
    async def issue(got: Received, _: int) -> web.Response:
        await asyncio.sleep(0.2)
        return web.json_response({"access_token": f"tok-{len(endpoint.received)}"})

    endpoint = await start_receiver(issue)
    tokens = Credentials(sender)
    url = endpoint.url("/token")
    values = await asyncio.gather(*(header(tokens, url) for _ in range(200)))
    assert set(values) == {"Bearer tok-1"}
    assert len(endpoint.received) == 1

    # Other credentials of the same webhook (an Update) get their own token.
    other = await tokens.header(WORKSPACE, WEBHOOK, auth(url, "rotated"), timeout=5)
    assert other is not None
    assert other.value == "Bearer tok-2"
    # A 401 to a token that was already replaced leaves the new one in place.
    tokens.reject(WORKSPACE, WEBHOOK, auth(url), "Bearer tok-0")
    assert await header(tokens, url) == "Bearer tok-1"
    tokens.reject(WORKSPACE, WEBHOOK, auth(url), "Bearer tok-1")
    assert await header(tokens, url) == "Bearer tok-3"
    assert len(endpoint.received) == 3


async def test_a_shared_fetch_is_not_cut_by_the_attempt_that_started_it(
    sender: HttpSender, start_receiver: StartReceiver
) -> None:
    async def issue(_: Received, __: int) -> web.Response:
        await asyncio.sleep(0.3)
        return web.json_response({"access_token": "tok"})

    endpoint = await start_receiver(issue)
    tokens = Credentials(sender)
    url = endpoint.url("/token")
    # The first attempt has 0.05 s left of its own (after a 401, say); the fetch it
    # starts may take the webhook's whole timeout, which a second attempt waits on.
    first = tokens.header(WORKSPACE, WEBHOOK, auth(url), timeout=0.05, fetch_timeout=5.0)
    second = tokens.header(WORKSPACE, WEBHOOK, auth(url), timeout=5.0, fetch_timeout=5.0)
    cut, made = await asyncio.gather(first, second, return_exceptions=True)
    assert isinstance(cut, TokenError)
    assert "did not answer within 0.05 s" in cut.message
    assert isinstance(made, domain.Header)
    assert made.value == "Bearer tok"
    assert len(endpoint.received) == 1
