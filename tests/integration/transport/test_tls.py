"""TLS and mutual TLS on the gRPC port, with certificates made by the test."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

import hooksmith
from hooksmith import errors
from hooksmith_server import domain
from hooksmith_server.store.keys import KeyStore
from tests.harness.certs import Authority
from tests.harness.server import SECRET_KEY_BASE64, Running, StartServer


async def key_of(running: Running) -> str:
    assert running.app.database is not None
    return await KeyStore(running.app.database).create("acme", domain.Scope.CONSOLE)


async def lists(client: hooksmith.Client) -> bool:
    return (await client.list()) is not None


async def test_tls_serves_the_typed_client_and_refuses_plaintext(
    start_server: StartServer, tmp_path: Path
) -> None:
    ca = Authority(tmp_path, "main")
    server_cert = ca.server()
    running = await start_server(tls_cert=server_cert.cert_path, tls_key=server_cert.key_path)
    key = await key_of(running)

    async with hooksmith.Client(running.address, key, root_certificates=ca.cert) as client:
        made = await client.create({"name": "over TLS", "url": "https://x.example.com"})
        assert (await client.get(made.id)).spec.name == "over TLS"

    async with hooksmith.Client(running.address, key, deadline=5) as plaintext:
        with pytest.raises(errors.Unavailable):
            await plaintext.create({"name": "plain", "url": "https://x.example.com"})

    # A server certificate from a CA the client does not trust is refused too.
    stranger = Authority(tmp_path, "stranger")
    async with hooksmith.Client(
        running.address, key, root_certificates=stranger.cert, deadline=5
    ) as untrusting:
        with pytest.raises(errors.Unavailable):
            await untrusting.create({"name": "untrusted", "url": "https://x.example.com"})


async def test_mutual_tls_requires_a_client_certificate_from_the_configured_ca(
    start_server: StartServer, tmp_path: Path
) -> None:
    ca = Authority(tmp_path, "main")
    server_cert = ca.server()
    running = await start_server(
        tls_cert=server_cert.cert_path,
        tls_key=server_cert.key_path,
        tls_client_ca=ca.cert_path,
    )
    key = await key_of(running)
    good = ca.client("journey-engine")
    foreign = Authority(tmp_path, "other").client("intruder")

    async with hooksmith.Client(
        running.address,
        key,
        root_certificates=ca.cert,
        client_certificate=good.cert,
        client_key=good.key,
    ) as client:
        made = await client.create({"name": "mtls", "url": "https://x.example.com"})
        assert made.version == 1

    async with hooksmith.Client(
        running.address, key, root_certificates=ca.cert, deadline=5
    ) as anonymous:
        with pytest.raises(errors.Unavailable):
            await anonymous.create({"name": "no cert", "url": "https://x.example.com"})

    async with hooksmith.Client(
        running.address,
        key,
        root_certificates=ca.cert,
        client_certificate=foreign.cert,
        client_key=foreign.key,
        deadline=5,
    ) as impostor:
        with pytest.raises(errors.Unavailable):
            await impostor.create({"name": "foreign cert", "url": "https://x.example.com"})

    async with hooksmith.Client(
        running.address,
        key,
        root_certificates=ca.cert,
        client_certificate=good.cert,
        client_key=good.key,
    ) as client:
        names = [w.spec.name for w in (await client.list()).webhooks]
        assert names == ["mtls"], "only the call with a trusted certificate got through"


def serve_env(database_url: str, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSMITH_")}
    env |= {"HOOKSMITH_DATABASE_URL": database_url, "HOOKSMITH_LISTEN": "127.0.0.1:0"}
    env["HOOKSMITH_SECRET_KEY"] = SECRET_KEY_BASE64
    env |= {f"HOOKSMITH_{name.upper()}": value for name, value in settings.items()}
    return env


async def serve_fails(env: dict[str, str]) -> tuple[int | None, list[str]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hooksmith_server",
        "serve",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, stderr.decode().strip().splitlines()


async def test_a_missing_or_wrong_tls_file_is_a_one_line_start_error(
    database_url: str, tmp_path: Path
) -> None:
    ca = Authority(tmp_path, "main")
    server_cert = ca.server()
    missing = tmp_path / "nowhere.pem"

    code, lines = await serve_fails(
        serve_env(database_url, tls_cert=str(missing), tls_key=str(server_cert.key_path))
    )
    assert (code, lines) == (
        1,
        [f"hooksmith-server: HOOKSMITH_TLS_CERT: cannot read {missing}: No such file or directory"],
    )

    # The key file where the certificate should be.
    code, lines = await serve_fails(
        serve_env(
            database_url, tls_cert=str(server_cert.key_path), tls_key=str(server_cert.key_path)
        )
    )
    assert (code, lines) == (
        1,
        [f"hooksmith-server: HOOKSMITH_TLS_CERT: {server_cert.key_path} holds no PEM CERTIFICATE"],
    )

    code, lines = await serve_fails(serve_env(database_url, tls_cert=str(server_cert.cert_path)))
    assert code == 2
    assert lines == [
        "hooksmith-server: HOOKSMITH_TLS_CERT and HOOKSMITH_TLS_KEY: set both, or neither"
    ]
