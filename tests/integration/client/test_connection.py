"""How a client finds its server and key: arguments, environment, TLS or a given channel."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from hooksmith import Client, SyncClient, channel_options, errors
from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.server import Api, Running
from tests.integration.client.fake_service import FakeService, serving


async def test_target_and_key_come_from_the_environment(
    server: Running, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOKSMITH_TARGET", server.address)
    monkeypatch.setenv("HOOKSMITH_API_KEY", api.key)
    async with Client() as client:
        created = await client.create({"name": "env", "url": "https://x.example.com", "body": "{}"})

    fetched = await api.Get(pb.GetRequest(id=created.id))
    assert fetched.webhook.spec.name == "env"


def test_without_target_or_key_a_client_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOOKSMITH_TARGET", raising=False)
    monkeypatch.delenv("HOOKSMITH_API_KEY", raising=False)

    with pytest.raises(ValueError, match="HOOKSMITH_API_KEY"):
        SyncClient("127.0.0.1:1")
    with pytest.raises(ValueError, match="HOOKSMITH_TARGET"):
        SyncClient(api_key="k")


async def test_a_given_channel_is_used_and_left_open(server: Running, api: Api) -> None:
    channel = grpc.aio.insecure_channel(server.address, options=channel_options())
    try:
        async with Client(channel=channel, api_key=api.key) as client:
            created = await client.create(
                {"name": "c", "url": "https://x.example.com", "body": "{}"}
            )
        async with Client(channel=channel, api_key=api.key) as again:
            fetched = await again.get(created.id)
    finally:
        await channel.close()

    assert fetched == created


async def test_a_given_channel_excludes_a_target(server: Running) -> None:
    channel = grpc.aio.insecure_channel(server.address)
    try:
        with pytest.raises(ValueError, match="channel="):
            Client(server.address, "k", channel=channel)
    finally:
        await channel.close()


async def test_the_key_is_sent_as_a_bearer_token() -> None:
    async with serving() as fake, Client(f"127.0.0.1:{fake.port}", "hs_secret") as client:
        await client.get("wh_1")

    assert fake.keys == ["Bearer hs_secret"]


@pytest.fixture
async def tls_fake(tmp_path: Path) -> AsyncIterator[tuple[FakeService, bytes]]:
    """The stand-in service behind TLS with a self-signed certificate for 127.0.0.1."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    await asyncio.to_thread(
        subprocess.run,
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    credentials = grpc.ssl_server_credentials([(key.read_bytes(), cert.read_bytes())])
    async with serving(credentials) as fake:
        yield fake, cert.read_bytes()


async def test_tls_with_given_root_certificates(tls_fake: tuple[FakeService, bytes]) -> None:
    fake, roots = tls_fake
    async with Client(f"127.0.0.1:{fake.port}", "k", root_certificates=roots) as client:
        webhook = await client.get("wh_tls")

    assert webhook.id == "wh_tls"
    assert fake.calls["Get"] == 1


async def test_tls_refuses_an_untrusted_server(tls_fake: tuple[FakeService, bytes]) -> None:
    fake, _ = tls_fake
    async with Client(f"127.0.0.1:{fake.port}", "k", secure=True) as client:
        with pytest.raises(errors.Unavailable):
            await client.get("wh_tls", deadline=5)

    assert fake.calls["Get"] == 0


async def test_plaintext_is_the_default_and_tls_is_not(server: Running, api: Api) -> None:
    async with Client(server.address, api.key) as plain:
        assert (await plain.list()).webhooks == []
    async with Client(server.address, api.key, secure=True) as tls:
        with pytest.raises(errors.Unavailable):
            await tls.list(deadline=5)
