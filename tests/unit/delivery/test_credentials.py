"""Authorization headers and the token cache's clock: the grant as RFC 6749 spells it,
and when a cached token is fetched again."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest

from hooksmith_server import domain
from hooksmith_server.delivery import credentials
from hooksmith_server.delivery.sender import Exchange

WORKSPACE, WEBHOOK = uuid.UUID(int=1), uuid.UUID(int=2)
AUTH = domain.OAuth2ClientCredentials(
    "https://auth.example.com/token", "id:with space", "sécret+/=", ("a", "b:c"), "aud"
)


class TokenServer:
    """A `ports.Sender` that answers every request with the next of `answers` (a JSON body)."""

    def __init__(self, *answers: object) -> None:
        self.answers = list(answers)
        self.requests: list[domain.HttpRequest] = []

    async def send(self, request: domain.HttpRequest, *, timeout: float) -> Exchange:
        self.requests.append(request)
        body = json.dumps(self.answers.pop(0))
        response = domain.HttpResponse(200, (), body)
        return Exchange(request, response, None, False, None, datetime.now(UTC), timedelta(0))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_token_request_is_the_client_credentials_grant_with_http_basic() -> None:
    request = credentials.token_request(AUTH)

    assert (request.method, request.url) == ("POST", "https://auth.example.com/token")
    assert parse_qs(request.body) == {
        "grant_type": ["client_credentials"],
        "scope": ["a b:c"],
        "audience": ["aud"],
    }
    headers = {h.name: h.value for h in request.headers}
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    # RFC 6749 2.3.1: id and secret form-encoded, then joined by ":" and base64-encoded.
    scheme, encoded = headers["Authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == "id%3Awith+space:s%C3%A9cret%2B%2F%3D"


def test_without_scopes_or_audience_only_the_grant_type_is_sent() -> None:
    bare = domain.OAuth2ClientCredentials("https://a.example/t", "id", "secret")
    assert credentials.token_request(bare).body == "grant_type=client_credentials"


def test_basic_and_bearer_headers_and_their_previews() -> None:
    basic = domain.BasicAuth("aladdin", "open sesame")
    assert credentials.static_header(basic).value == "Basic YWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    assert credentials.preview_header(basic).value == "Basic ****"
    bearer = domain.BearerAuth("sk_live_0123456789")
    assert credentials.static_header(bearer).value == "Bearer sk_live_0123456789"
    assert credentials.preview_header(bearer).value == "Bearer ****6789"
    assert credentials.preview_header(AUTH).value == "Bearer ****"


@pytest.mark.parametrize(
    ("expires_in", "reused_for"),
    [
        (3600, 3570.0),  # refreshed 30 s before it ends
        (100, 90.0),  # a short life loses a tenth at most
        ("120", 108.0),  # a number in a string, as some servers send it
        (None, 3570.0),  # no expires_in: an hour
        (True, 3570.0),  # not a number: an hour
        (10**400, 86_370.0),  # a day at most
        (0, 0.0),  # used once, by the attempts that waited for it
    ],
)
async def test_a_cached_token_is_fetched_again_shortly_before_it_expires(
    expires_in: object, reused_for: float
) -> None:
    answer: dict[str, object] = {"access_token": "first"}
    if expires_in is not None:
        answer["expires_in"] = expires_in
    server = TokenServer(answer, {"access_token": "second"})
    clock = Clock()
    tokens = credentials.Credentials(server, clock=clock)

    async def value() -> str:
        header = await tokens.header(WORKSPACE, WEBHOOK, AUTH, timeout=5)
        assert header is not None
        return header.value

    assert await value() == "Bearer first"
    if reused_for:
        clock.now += reused_for - 0.001
        assert await value() == "Bearer first"
    clock.now += 0.002
    assert await value() == "Bearer second"
    assert len(server.requests) == 2


async def test_the_cache_holds_at_most_its_size_least_recently_used_first() -> None:
    server = TokenServer(*({"access_token": f"t{i}"} for i in range(4)))
    tokens = credentials.Credentials(server, cache_size=2)
    hooks = [uuid.UUID(int=10 + i) for i in range(3)]
    for hook in hooks:
        await tokens.header(WORKSPACE, hook, AUTH, timeout=5)
    assert len(server.requests) == 3
    again = await tokens.header(WORKSPACE, hooks[2], AUTH, timeout=5)
    assert again is not None
    assert again.value == "Bearer t2"
    dropped = await tokens.header(WORKSPACE, hooks[0], AUTH, timeout=5)
    assert dropped is not None
    assert dropped.value == "Bearer t3"


def test_secrets_stay_out_of_reprs() -> None:
    specs = (
        domain.BasicAuth("user", "pw-secret"),
        domain.BearerAuth("tk-secret"),
        AUTH,
        domain.WebhookSpec(name="n", url="https://x.example", auth=domain.BearerAuth("tk-secret")),
    )
    for value in specs:
        text = repr(value)
        for secret in ("pw-secret", "tk-secret", AUTH.client_secret):
            assert secret not in text


def test_signing_secrets_and_tokens_stay_out_of_reprs() -> None:
    now = datetime.now(UTC)
    values = (
        domain.AlertSettings(url="https://ops.example.com/alerts", signing_secret="whsec_s3cret"),
        domain.AlertDelivery(
            id=uuid.uuid4(),
            workspace_id=uuid.uuid4(),
            type="webhook.disabled",
            payload={},
            url="https://ops.example.com/alerts",
            signing_secret="whsec_s3cret",
            attempts=1,
            create_time=now,
        ),
        credentials._Token("tk-secret", 0.0),
    )
    for value in values:
        assert "s3cret" not in repr(value)
        assert "tk-secret" not in repr(value)
