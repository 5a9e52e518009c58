"""SSRF: a sender with an empty allow-list never opens a socket to loopback, however spelled."""

from __future__ import annotations

import asyncio
import re

import pytest

from hooksmith_server import domain
from hooksmith_server.delivery.sender import HttpSender
from tests.harness.network import Listener

SPELLINGS = [
    "127.0.0.1",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "127.1",
    "0x7f.1",
    "127.0.0.1.",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::1]",
    "localhost",
]


def post(url: str) -> domain.HttpRequest:
    # POST, not GET: aiohttp resends an idempotent request once when the server hangs up,
    # which would make the connection count of the control test below two.
    return domain.HttpRequest("POST", url, (), "{}")


async def settle() -> None:
    """Give a connection that was (wrongly) opened time to reach the listener."""
    await asyncio.sleep(0.05)


@pytest.mark.parametrize("host", SPELLINGS)
async def test_every_loopback_spelling_is_blocked_without_a_connection(
    strict_sender: HttpSender, listener: Listener, host: str
) -> None:
    outcome = await strict_sender.send(post(f"http://{host}:{listener.port}/"), timeout=5)
    await settle()
    assert outcome.error is not None
    assert "is blocked: " in outcome.error
    assert "loopback" in outcome.error
    assert (outcome.response, outcome.retryable) == (None, False)
    assert listener.connections == 0


async def test_localhost_is_blocked_by_the_resolver_naming_the_address(
    strict_sender: HttpSender, listener: Listener
) -> None:
    outcome = await strict_sender.send(post(f"http://localhost:{listener.port}/"), timeout=5)
    assert outcome.error is not None
    assert outcome.error.startswith("egress to localhost (")
    # The refusal names the address and says how an operator would allow it.
    assert re.search(
        r"is blocked: loopback address; to allow it, add (127\.0\.0\.1/32|::1/128) "
        r"\(or its network\) to HOOKSMITH_EGRESS_ALLOW$",
        outcome.error,
    ), outcome.error


async def test_fully_qualified_localhost_never_connects(
    strict_sender: HttpSender, listener: Listener
) -> None:
    # Whether "localhost." resolves depends on the system's resolver; it must never connect.
    outcome = await strict_sender.send(post(f"http://LOCALHOST.:{listener.port}/"), timeout=5)
    await settle()
    assert outcome.response is None
    assert listener.connections == 0


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "0x7f.1", "[::ffff:127.0.0.1]"])
async def test_the_same_spellings_connect_when_loopback_is_allowed(
    sender: HttpSender, listener: Listener, host: str
) -> None:
    """The control for the test above: the listener does count a real connection."""
    outcome = await sender.send(post(f"http://{host}:{listener.port}/"), timeout=5)
    await settle()
    assert listener.connections == 1
    # The listener hangs up without answering.
    assert outcome.error == "server closed the connection without a complete response"
    assert outcome.retryable


async def test_localhost_connects_through_the_resolver_when_loopback_is_allowed(
    sender: HttpSender, listener: Listener
) -> None:
    await sender.send(post(f"http://localhost:{listener.port}/"), timeout=5)
    await settle()
    assert listener.connections == 1


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/", "http://10.0.0.1/"],
)
async def test_metadata_and_private_targets_are_refused_immediately(
    strict_sender: HttpSender, url: str
) -> None:
    outcome = await strict_sender.send(post(url), timeout=5)
    assert outcome.error is not None
    assert "is blocked: " in outcome.error
    assert not outcome.retryable
    assert outcome.duration.total_seconds() < 1.0
