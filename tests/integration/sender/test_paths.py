"""The receiver gets the path that history shows: nothing between rendering and the
socket resolves dot segments or decodes `%2F`."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from aiohttp import web

from hooksmith_server import domain
from hooksmith_server.delivery.sender import HttpSender
from hooksmith_server.rendering import Renderer
from tests.harness.receiver import StartReceiver

ANY_PATH = "/{tail:.*}"


async def ok(_request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok")


def path_qs(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def render(url: str, user_id: str) -> domain.HttpRequest:
    webhook = Renderer().compile(domain.WebhookSpec(name="coupon", url=url))
    return webhook.render(domain.Recipient(user_id=user_id), {}, require_data=True).request


@pytest.mark.parametrize(
    ("user_id", "segment"),
    [("..", "%2E%2E"), (".", "%2E"), ("a/b", "a%2Fb"), ("%2e%2e", "%252e%252e")],
)
async def test_a_user_id_stays_one_segment_on_the_wire(
    start_receiver: StartReceiver, sender: HttpSender, user_id: str, segment: str
) -> None:
    receiver = await start_receiver(routes={ANY_PATH: ok})
    request = render(receiver.url("/users/{{ userId }}/coupons?src=journey"), user_id)

    outcome = await sender.send(request, timeout=5)

    assert outcome.succeeded, outcome.error
    [seen] = receiver.received
    assert seen.path_qs == path_qs(outcome.request.url)
    assert seen.path_qs == f"/users/{segment}/coupons?src=journey"


@pytest.mark.parametrize(
    "path", ["/a/../b", "/a/./b", "/a/%2e%2e/b", "/a/%2F/b", "/a/b%2Fc?next=%2Fx&up=.."]
)
async def test_a_literal_path_goes_out_as_written(
    start_receiver: StartReceiver, sender: HttpSender, path: str
) -> None:
    receiver = await start_receiver(routes={ANY_PATH: ok})

    outcome = await sender.send(render(receiver.url(path), "u1"), timeout=5)

    assert outcome.succeeded, outcome.error
    [seen] = receiver.received
    assert seen.path_qs == path == path_qs(outcome.request.url)


async def test_the_path_survives_the_rewrite_of_a_numeric_host(
    start_receiver: StartReceiver, sender: HttpSender
) -> None:
    receiver = await start_receiver(routes={ANY_PATH: ok})
    # 2130706433 is 127.0.0.1; the sender connects to the checked spelling.
    url = f"http://2130706433:{receiver.port}/users/{{{{ userId }}}}/a%2Fb/../c"

    outcome = await sender.send(render(url, ".."), timeout=5)

    assert outcome.succeeded, outcome.error
    [seen] = receiver.received
    assert seen.path_qs == "/users/%2E%2E/a%2Fb/../c" == path_qs(outcome.request.url)
    assert dict(seen.headers)["Host"] == f"127.0.0.1:{receiver.port}"


async def test_non_ascii_text_is_sent_percent_encoded_as_utf8(
    start_receiver: StartReceiver, sender: HttpSender
) -> None:
    receiver = await start_receiver(routes={ANY_PATH: ok})

    outcome = await sender.send(render(receiver.url("/café/{{ userId }}?q=é"), "ü"), timeout=5)

    assert outcome.succeeded, outcome.error
    assert outcome.request.url == receiver.url("/café/%C3%BC?q=é")
    [seen] = receiver.received
    assert seen.path_qs == "/caf%C3%A9/%C3%BC?q=%C3%A9"
