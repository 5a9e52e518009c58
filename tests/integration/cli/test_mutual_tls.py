"""`hooksmith --client-cert/--client-key` against a real server that requires mutual TLS,
with certificates made by the test."""

from __future__ import annotations

import asyncio
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from hooksmith_server import domain
from hooksmith_server.store.keys import KeyStore
from tests.harness.certs import Authority, Issued
from tests.harness.server import Running, StartServer
from tests.integration.cli.conftest import SCRIPT, Cli


@dataclass(frozen=True)
class MutualTls:
    running: Running
    cli: Cli
    ca: Authority
    client: Issued


@pytest.fixture
async def mtls(start_server: StartServer, tmp_path: Path) -> MutualTls:
    ca = Authority(tmp_path, "main")
    server_cert = ca.server()
    running = await start_server(
        tls_cert=server_cert.cert_path,
        tls_key=server_cert.key_path,
        tls_client_ca=ca.cert_path,
    )
    assert running.app.database is not None
    key = await KeyStore(running.app.database).create("acme", domain.Scope.CONSOLE)
    return MutualTls(running, Cli(running.address, key), ca, ca.client("console"))


def tls(m: MutualTls, issued: Issued | None = None) -> list[str]:
    options = ["--root-certificates", str(m.ca.cert_path), "--deadline", "5"]
    if issued is not None:
        options += ["--client-cert", str(issued.cert_path), "--client-key", str(issued.key_path)]
    return options


async def test_a_trusted_client_certificate_gets_through(mtls: MutualTls, tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"name": "over mTLS", "url": "https://x.example.com"}))

    made = await mtls.cli(*tls(mtls, mtls.client), "--json", "webhooks", "create", "-f", str(spec))
    listed = await mtls.cli("webhooks", "list", *tls(mtls, mtls.client))

    assert made.json()["spec"]["name"] == "over mTLS"
    assert listed.code == 0, listed.err
    assert "over mTLS" in listed.out


async def test_without_a_trusted_certificate_the_server_refuses(
    mtls: MutualTls, tmp_path: Path
) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"name": "refused", "url": "https://x.example.com"}))
    foreign = Authority(tmp_path, "other").client("intruder")

    anonymous = await mtls.cli(*tls(mtls), "webhooks", "create", "-f", str(spec))
    impostor = await mtls.cli(*tls(mtls, foreign), "webhooks", "create", "-f", str(spec))

    for refused in (anonymous, impostor):
        assert refused.code == 1
        assert refused.err.startswith("error: Unavailable: ")
        assert len(refused.err.splitlines()) == 1
    trusted = await mtls.cli("--json", "webhooks", "list", *tls(mtls, mtls.client))
    assert trusted.json()["webhooks"] == [], "no refused call created anything"


async def test_the_installed_script_takes_the_options_too(mtls: MutualTls) -> None:
    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SCRIPT), "webhooks", "list", *tls(mtls, mtls.client)],
            env=mtls.cli.env(),
            capture_output=True,
            text=True,
            timeout=60,
        )

    result = await asyncio.to_thread(run)

    # Nothing is there yet: an answer at all means the handshake with the certificate held.
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("no webhooks")


@pytest.mark.parametrize("given", ["--client-cert", "--client-key"])
async def test_one_of_the_pair_alone_is_a_usage_error(mtls: MutualTls, given: str) -> None:
    path = mtls.client.cert_path if given == "--client-cert" else mtls.client.key_path

    refused = await mtls.cli("webhooks", "list", given, str(path))

    assert refused.code == 2
    assert refused.err == (
        "error: --client-cert and --client-key go together: pass the certificate and its key\n"
    )


async def test_a_swapped_or_missing_file_is_named(mtls: MutualTls, tmp_path: Path) -> None:
    swapped = await mtls.cli(
        "webhooks",
        "list",
        "--client-cert",
        str(mtls.client.key_path),
        "--client-key",
        str(mtls.client.cert_path),
    )
    missing = await mtls.cli(
        "webhooks",
        "list",
        "--client-cert",
        str(tmp_path / "nope.pem"),
        "--client-key",
        str(mtls.client.key_path),
    )

    assert swapped.code == 2
    assert swapped.err == (
        f"error: --client-cert {mtls.client.key_path}: no PEM certificate in the file\n"
    )
    assert missing.code == 2
    assert missing.err == f"error: {tmp_path / 'nope.pem'}: no such file\n"
