"""Provider credentials (`WebhookSpec.auth`) against a real token endpoint and receiver on
loopback: Basic and Bearer headers, OAuth2 tokens fetched once and shared, refreshed when
they expire or are refused, and a failing token endpoint retried by the schedule."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import pytest
from aiohttp import web
from google.protobuf import field_mask_pb2

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.history import message, send_one, wait_finished, wait_none_pending
from tests.harness.protos import recipients, seconds, struct
from tests.harness.receiver import Receiver, StartReceiver
from tests.harness.server import Api, Running
from tests.integration.secrets import raw

CLIENT_SECRET = "cs_live_9d8c7b6a5f4e3d2c"


@dataclass
class TokenEndpoint:
    """Issues `tok-1`, `tok-2`, ... unless `failures` still holds an answer to give first."""

    expires_in: float | None = 3600
    delay: float = 0.0
    failures: list[Callable[[], web.Response]] = field(default_factory=list)
    fail_on: dict[int, Callable[[], web.Response]] = field(default_factory=dict)
    """Answers for the n-th request (from 1), given instead of a token."""
    issued: list[str] = field(default_factory=list)
    forms: list[dict[str, list[str]]] = field(default_factory=list)
    clients: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.forms.append(parse_qs((await request.read()).decode()))
        self.clients.append(request.headers.get("Authorization", ""))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failures:
            return self.failures.pop(0)()
        if len(self.forms) in self.fail_on:
            return self.fail_on[len(self.forms)]()
        token = f"tok-{len(self.issued) + 1}"
        self.issued.append(token)
        answer: dict[str, object] = {"access_token": token, "token_type": "Bearer"}
        if self.expires_in is not None:
            answer["expires_in"] = self.expires_in
        return web.json_response(answer)


def accepting(refused: set[str]) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A receiver handler answering 401 to the Authorization values in `refused`."""

    async def handle(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") in refused:
            return web.json_response({"error": "invalid_token"}, status=401)
        return web.json_response({"ok": True})

    return handle


async def provider(
    start_receiver: StartReceiver,
    endpoint: TokenEndpoint,
    refused: set[str] | None = None,
) -> Receiver:
    """One loopback server: the token endpoint at /token, the webhook's receiver at /hook."""
    return await start_receiver(
        routes={"/token": endpoint.handle, "/hook": accepting(refused or set())}
    )


def oauth2(
    token_url: str,
    client_id: str = "hooksmith-client",
    scopes: tuple[str, ...] = ("sms:send", "coupons:issue"),
    audience: str = "https://api.provider.example",
) -> pb.Auth:
    return pb.Auth(
        oauth2_client_credentials=pb.OAuth2ClientCredentials(
            token_url=token_url,
            client_id=client_id,
            client_secret=CLIENT_SECRET,
            scopes=list(scopes),
            audience=audience,
        )
    )


async def create(
    api: Api, url: str, auth: pb.Auth, *, schedule: tuple[float, ...] = (0.1, 0.1)
) -> pb.Webhook:
    spec = pb.WebhookSpec(
        name="provider",
        url=url,
        body='{"user": "{{ userId }}"}',
        auth=auth,
        policy=pb.DeliveryPolicy(timeout=seconds(5), retry_schedule=[seconds(s) for s in schedule]),
    )
    return (await api.Create(pb.CreateRequest(spec=spec))).webhook


def hook_requests(server: Receiver) -> list[str | None]:
    """The Authorization header of each request the webhook's receiver got, in order."""
    return [r.header("Authorization") for r in server.received if r.path_qs == "/hook"]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_basic_and_bearer_headers_arrive_and_history_masks_them(
    api: Api, start_receiver: StartReceiver
) -> None:
    receiver = await start_receiver()
    password = "pässword:with-colon"
    with_basic = await create(
        api,
        receiver.url("/basic"),
        pb.Auth(basic=pb.BasicAuth(username="acme", password=password)),
    )
    with_bearer = await create(
        api, receiver.url("/bearer"), pb.Auth(bearer=pb.BearerAuth(token="sk_live_bearer_42ab"))
    )

    for hook, expected in (
        (with_basic, basic("acme", password)),
        (with_bearer, "Bearer sk_live_bearer_42ab"),
    ):
        got = await send_one(api, hook)
        assert got.status == pb.MESSAGE_STATUS_SUCCEEDED, got.error
        (request,) = receiver.by_id()[got.id]
        assert request.header("Authorization") == expected
        [shown] = [h for h in got.request.headers if h.name == "Authorization"]
        assert shown.value in ("Basic ****", "Bearer ****42ab")
        assert shown.value != expected
        assert "sk_live" not in shown.value


async def test_a_thousand_deliveries_make_one_token_request(
    server: Running, api: Api, start_receiver: StartReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # Slow enough that the first attempts all wait for the same request.
    endpoint = TokenEndpoint(delay=0.3)
    provider_server = await provider(start_receiver, endpoint)
    hook = await create(api, provider_server.url("/hook"), oauth2(provider_server.url("/token")))

    sent = await api.Send(
        pb.SendRequest(webhook_id=hook.id, recipients=recipients(1000), data=struct())
    )
    await wait_none_pending(api, hook.id)

    assert len(endpoint.forms) == 1
    assert endpoint.forms[0] == {
        "grant_type": ["client_credentials"],
        "scope": ["sms:send coupons:issue"],
        "audience": ["https://api.provider.example"],
    }
    # RFC 6749 2.3.1: the client authenticates with HTTP Basic.
    assert endpoint.clients == [basic("hooksmith-client", CLIENT_SECRET)]
    assert hook_requests(provider_server) == ["Bearer tok-1"] * 1000
    done = await message(api, sent.message_ids[999])
    assert done.status == pb.MESSAGE_STATUS_SUCCEEDED
    [shown] = [h for h in done.request.headers if h.name == "Authorization"]
    assert shown.value == "Bearer ****"
    assert "tok-1" not in shown.value
    # Neither the token nor the client secret is stored or logged.
    stored = await raw.dump(server.database_url)
    assert sent.message_ids[999] in stored, "the dump holds the messages"
    for secret in ("tok-1", CLIENT_SECRET):
        assert secret not in stored
        assert secret not in caplog.text


async def test_an_expired_token_is_fetched_again(api: Api, start_receiver: StartReceiver) -> None:
    endpoint = TokenEndpoint(expires_in=1)
    server = await provider(start_receiver, endpoint)
    hook = await create(api, server.url("/hook"), oauth2(server.url("/token")))

    first = await send_one(api, hook)
    second = await send_one(api, hook)  # within the token's life: the same token
    await asyncio.sleep(1.2)
    third = await send_one(api, hook)

    assert [m.status for m in (first, second, third)] == [pb.MESSAGE_STATUS_SUCCEEDED] * 3
    assert endpoint.issued == ["tok-1", "tok-2"]
    assert hook_requests(server) == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]


async def test_a_401_fetches_a_new_token_once_within_the_attempt(
    api: Api, start_receiver: StartReceiver
) -> None:
    endpoint = TokenEndpoint()
    server = await provider(start_receiver, endpoint, refused={"Bearer tok-1"})
    hook = await create(api, server.url("/hook"), oauth2(server.url("/token")))

    got = await send_one(api, hook)

    assert got.status == pb.MESSAGE_STATUS_SUCCEEDED, got.error
    assert got.attempt_count == 1
    assert endpoint.issued == ["tok-1", "tok-2"]
    assert hook_requests(server) == ["Bearer tok-1", "Bearer tok-2"]
    # The new token is kept: the next delivery uses it without asking again.
    assert (await send_one(api, hook)).status == pb.MESSAGE_STATUS_SUCCEEDED
    assert endpoint.issued == ["tok-1", "tok-2"]
    assert hook_requests(server)[-1] == "Bearer tok-2"


async def test_a_receiver_refusing_every_token_is_asked_twice_and_the_message_fails(
    api: Api, start_receiver: StartReceiver
) -> None:
    endpoint = TokenEndpoint()
    refused = {f"Bearer tok-{i}" for i in range(1, 10)}
    server = await provider(start_receiver, endpoint, refused=refused)
    hook = await create(api, server.url("/hook"), oauth2(server.url("/token")))

    got = await send_one(api, hook)

    # A 401 is not retried by the schedule: one attempt, one refetch within it.
    assert got.status == pb.MESSAGE_STATUS_FAILED
    assert got.attempt_count == 1
    assert got.error == "HTTP 401"
    assert endpoint.issued == ["tok-1", "tok-2"]
    assert hook_requests(server) == ["Bearer tok-1", "Bearer tok-2"]


async def test_a_failing_token_endpoint_fails_attempts_clearly_and_the_schedule_retries(
    api: Api, start_receiver: StartReceiver
) -> None:
    endpoint = TokenEndpoint(
        failures=[
            lambda: web.Response(status=500, text="upstream\n  down"),
            lambda: web.Response(
                text="access_token=tok-0&token_type=bearer", content_type="text/html"
            ),
            lambda: web.json_response({"token_type": "Bearer", "expires_in": 60}),
            lambda: web.json_response({"error": "invalid_client"}, status=401),
        ]
    )
    server = await provider(start_receiver, endpoint)
    token_url = server.url("/token")
    hook = await create(
        api, server.url("/hook"), oauth2(token_url), schedule=(0.1, 0.1, 0.1, 0.1, 0.1)
    )

    sent = await api.Send(
        pb.SendRequest(webhook_id=hook.id, recipients=recipients(1), data=struct())
    )
    await wait_finished(api, list(sent.message_ids))
    got = await message(api, sent.message_ids[0])

    assert got.status == pb.MESSAGE_STATUS_SUCCEEDED, got.error
    errors = [a.error for a in got.attempts]
    assert errors == [
        f"token endpoint {token_url} answered 500: upstream down",
        f"token endpoint {token_url} answered 200 without a JSON object "
        "(Content-Type: text/html; charset=utf-8)",
        f"token endpoint {token_url} answered 200 without an access_token",
        f'token endpoint {token_url} answered 401: {{"error": "invalid_client"}}',
        "",
    ]
    # No request reached the receiver until a token came.
    assert [a.request.url for a in got.attempts[:4]] == ["", "", "", ""]
    assert hook_requests(server) == ["Bearer tok-1"]
    assert len(endpoint.forms) == 5
    # A token in another format is not repeated into history.
    assert all("tok-0" not in error for error in errors)


async def test_a_token_endpoint_that_stays_down_fails_the_message_after_the_schedule(
    api: Api, start_receiver: StartReceiver
) -> None:
    endpoint = TokenEndpoint(failures=[lambda: web.Response(status=503, text="unavailable")] * 10)
    server = await provider(start_receiver, endpoint)
    hook = await create(api, server.url("/hook"), oauth2(server.url("/token")), schedule=(0.1, 0.1))

    got = await send_one(api, hook)

    assert got.status == pb.MESSAGE_STATUS_FAILED
    assert got.attempt_count == 3
    assert got.error == f"token endpoint {server.url('/token')} answered 503: unavailable"
    assert hook_requests(server) == []


async def test_new_credentials_fetch_a_new_token(api: Api, start_receiver: StartReceiver) -> None:
    endpoint = TokenEndpoint()
    server = await provider(start_receiver, endpoint)
    hook = await create(api, server.url("/hook"), oauth2(server.url("/token")))
    assert (await send_one(api, hook)).status == pb.MESSAGE_STATUS_SUCCEEDED

    updated = (
        await api.Update(
            pb.UpdateRequest(
                id=hook.id,
                spec=pb.WebhookSpec(auth=oauth2(server.url("/token"), client_id="rotated")),
                update_mask=field_mask_pb2.FieldMask(paths=["auth"]),
            )
        )
    ).webhook
    assert updated.spec.url == server.url("/hook")
    assert (await send_one(api, updated)).status == pb.MESSAGE_STATUS_SUCCEEDED

    assert endpoint.clients == [
        basic("hooksmith-client", CLIENT_SECRET),
        basic("rotated", CLIENT_SECRET),
    ]
    assert hook_requests(server) == ["Bearer tok-1", "Bearer tok-2"]


async def test_a_token_endpoint_failing_after_a_401_keeps_the_401_and_is_retried(
    api: Api, start_receiver: StartReceiver
) -> None:
    endpoint = TokenEndpoint(fail_on={2: lambda: web.Response(status=502, text="bad gateway")})
    server = await provider(start_receiver, endpoint, refused={"Bearer tok-1"})
    token_url = server.url("/token")
    hook = await create(api, server.url("/hook"), oauth2(token_url), schedule=(0.1,))

    got = await send_one(api, hook)

    assert got.status == pb.MESSAGE_STATUS_SUCCEEDED, got.error
    first, second = got.attempts
    assert first.error == (
        f"token endpoint {token_url} answered 502: bad gateway "
        "(fetching a new token after the receiver answered 401)"
    )
    assert first.response.status_code == 401
    assert second.response.status_code == 200
    assert endpoint.issued == ["tok-1", "tok-2"]
    assert hook_requests(server) == ["Bearer tok-1", "Bearer tok-2"]
