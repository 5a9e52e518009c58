"""Bad input and refused calls: one clear line on standard error and a non-zero exit."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.harness.network import free_port
from tests.harness.server import Api, Running
from tests.integration.cli.conftest import Cli, run_in_process


async def test_a_spec_the_server_refuses_names_the_field(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text(json.dumps({"name": "x", "url": "ftp://x.example.com"}))

    refused = await cli("webhooks", "create", "-f", str(tmp_path / "bad.json"))

    assert refused.code == 1
    assert refused.out == ""
    assert refused.err.startswith("error: InvalidArgument: ")
    assert "spec.url" in refused.err
    assert len(refused.err.splitlines()) == 1


async def test_a_missing_data_field_is_named(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "w.yaml").write_text(
        'name: w\nurl: https://x.example.com\nbody: \'{"t": "{{ text }}"}\'\n'
    )
    made = (await cli("--json", "webhooks", "create", "-f", str(tmp_path / "w.yaml"))).json()

    refused = await cli("send-test", made["id"], "--user", "u-1")

    assert refused.code == 1
    assert refused.err.startswith("error: InvalidArgument: data.text: ")


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("broken.json", '{"name": "x",', "broken.json: not valid JSON: "),
        ("broken.yaml", "name: [x\n", "broken.yaml: not valid YAML: "),
        ("list.yaml", "- name: x\n", "list.yaml: expected an object"),
        ("typo.json", '{"nmae": "x"}', "typo.json: not a webhook spec: "),
        ("slow.yaml", "policy: {timeout: soon}\n", "slow.yaml: not a webhook spec: "),
    ],
)
async def test_a_bad_spec_file_is_refused_before_any_call(
    cli: Cli, tmp_path: Path, name: str, content: str, expected: str
) -> None:
    (tmp_path / name).write_text(content)

    refused = await cli("webhooks", "create", "-f", str(tmp_path / name))

    assert refused.code == 2
    assert refused.err.startswith("error: ")
    assert expected in refused.err
    assert len(refused.err.splitlines()) == 1


async def test_a_missing_file_is_named(cli: Cli, tmp_path: Path) -> None:
    refused = await cli("webhooks", "create", "-f", str(tmp_path / "nope.yaml"))

    assert refused.code == 2
    assert refused.err == f"error: {tmp_path / 'nope.yaml'}: no such file\n"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("name,data.text\nu-1,x\n", "the header has no user_id column"),
        ("user_id,phone\nu-1,x\n", "column 'phone' is not user_id, tags.NAME"),
        ("user_id,tags.a\nu-1,x,y\n", "line 2: 3 cells, the header has 2"),
        ("user_id,tags.a\n,x\n", "line 2: user_id is empty"),
        ("user_id\n", "no rows under the header"),
    ],
)
async def test_a_bad_recipients_file_is_refused(
    cli: Cli, tmp_path: Path, content: str, expected: str
) -> None:
    (tmp_path / "users.csv").write_text(content)

    refused = await cli(
        "send", "00000000-0000-7000-8000-000000000000", "--recipients", str(tmp_path / "users.csv")
    )

    assert refused.code == 2
    assert expected in refused.err


async def test_an_unknown_id_is_not_found(cli: Cli) -> None:
    refused = await cli("message", "00000000-0000-7000-8000-000000000000")

    assert refused.code == 1
    assert refused.err.startswith("error: NotFound: ")


async def test_bad_options_are_refused_with_usage(cli: Cli) -> None:
    too_big = await cli("send", "x", "--recipients", "u.csv", "--batch-size", "5000")
    bad_status = await cli("history", "--status", "lost")
    bad_pair = await cli("render", "x", "--set", "novalue")
    bad_since = await cli("history", "--since", "yesterday")
    both = await cli("render", "x", "-f", "d.yaml")

    assert too_big.code == 2
    assert "a call takes at most 1000" in too_big.err
    assert bad_status.code == 2
    assert "invalid choice: 'lost'" in bad_status.err
    assert bad_pair.err == "error: --set 'novalue': expected NAME=VALUE\n"
    assert bad_since.code == 2
    assert "--since 'yesterday': expected an ISO 8601 time" in bad_since.err
    assert both.err == "error: render takes a saved webhook's ID or -f DRAFT, not both or neither\n"


async def test_a_wrong_key_is_unauthenticated(server: Running) -> None:
    refused = await Cli(server.address, "hs_wrong")("webhooks", "list")

    assert refused.code == 1
    assert refused.err.startswith("error: Unauthenticated: ")


async def test_an_unreachable_server_is_unavailable() -> None:
    port = free_port()

    refused = await Cli(f"127.0.0.1:{port}", "k")("--deadline", "2", "webhooks", "list")

    assert refused.code == 1
    assert refused.err.startswith(("error: Unavailable: ", "error: DeadlineExceeded: "))


def test_without_a_key_the_command_says_where_it_looks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOOKSMITH_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)

    refused = run_in_process(["webhooks", "list"], None)

    assert refused.code == 2
    assert refused.err.startswith("error: no API key: pass --api-key, set HOOKSMITH_API_KEY")


async def test_the_key_is_found_in_the_checkout(
    server: Running, api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".hooksmith").mkdir()
    (tmp_path / ".hooksmith" / "api-key").write_text(api.key + "\n")
    (tmp_path / "docs" / "deep").mkdir(parents=True)
    monkeypatch.delenv("HOOKSMITH_API_KEY", raising=False)
    monkeypatch.setenv("HOOKSMITH_TARGET", server.address)
    monkeypatch.chdir(tmp_path / "docs" / "deep")
    (tmp_path / "w.json").write_text(json.dumps({"name": "found", "url": "https://x.example.com"}))

    made = await asyncio.to_thread(
        run_in_process, ["webhooks", "create", "-f", str(tmp_path / "w.json")], None
    )

    assert made.code == 0, made.err
    assert "name            found" in made.out
