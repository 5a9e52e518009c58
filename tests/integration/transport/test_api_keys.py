"""API key lifecycle: list, revoke (refused at once in every process), last use, and the
key each webhook version was saved by."""

from __future__ import annotations

import asyncio
import os
import sys

import asyncpg
import grpc

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith_server import domain
from hooksmith_server.store.keys import PREFIX_LENGTH, KeyStore
from tests.harness.grpc_errors import expect_error
from tests.harness.polling import wait_until
from tests.harness.server import SECRET_KEY_BASE64, Api, Running, StartServer


async def keys_command(database_url: str, *args: str) -> tuple[int | None, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSMITH_")}
    env["HOOKSMITH_DATABASE_URL"] = database_url
    env["HOOKSMITH_SECRET_KEY"] = SECRET_KEY_BASE64
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hooksmith_server",
        "keys",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, stdout.decode(), stderr.decode()


def prefix(key: str) -> str:
    return key[:PREFIX_LENGTH]


async def caching(running: Running) -> bool:
    assert running.app.authenticator is not None
    return running.app.authenticator.caching


async def test_a_revoked_key_is_refused_at_once_by_every_server(
    start_server: StartServer, database_url: str
) -> None:
    first = await start_server()
    second = await start_server()
    api = await first.api("acme")
    other = Api(second.stub, api.key)
    for running in (first, second):
        await wait_until(lambda running=running: caching(running), timeout=10)
    # Both servers now hold the key in their cache (60 s).
    assert (await api.List(pb.ListRequest())).webhooks == []
    assert (await other.List(pb.ListRequest())).webhooks == []

    code, out, err = await keys_command(database_url, "revoke", prefix(api.key))
    assert code == 0, err
    assert f"Revoked the console key {prefix(api.key)} of workspace 'acme'" in out

    async def refused_everywhere() -> bool:
        for client in (api, other):
            try:
                await client.List(pb.ListRequest())
            except grpc.aio.AioRpcError as e:
                if e.code() != grpc.StatusCode.UNAUTHENTICATED:
                    raise
            else:
                return False
        return True

    # Far sooner than the cache would let the key expire by itself.
    await wait_until(refused_everywhere, timeout=2, every=0.05)
    # Another key of the workspace is untouched.
    fresh = await first.api("acme", "journey")
    assert (await fresh.List(pb.ListRequest())).webhooks == []


async def test_keys_list_shows_workspace_scope_prefix_created_and_last_use(
    server: Running, database_url: str
) -> None:
    console = await server.api("acme", "console")
    journey = await server.api("globex", "journey")
    await console.List(pb.ListRequest())

    code, out, err = await keys_command(database_url, "list")
    assert code == 0, err
    header, *rows = out.strip().splitlines()
    assert header.split() == ["WORKSPACE", "SCOPE", "PREFIX", "CREATED", "LAST", "USED"]
    by_prefix = {row.split()[2]: row.split() for row in rows}
    assert by_prefix[prefix(console.key)][:2] == ["acme", "console"]
    assert by_prefix[prefix(journey.key)][:2] == ["globex", "journey"]
    assert by_prefix[prefix(journey.key)][-1] == "never"
    assert by_prefix[prefix(console.key)][-1] != "never", "the call was noted"
    assert console.key not in out
    assert journey.key not in out

    code, _, err = await keys_command(database_url, "revoke", prefix(journey.key))
    assert code == 0, err
    _, out, _ = await keys_command(database_url, "list")
    assert prefix(journey.key) not in out
    _, out, _ = await keys_command(database_url, "list", "--all")
    assert out.splitlines()[0].split()[-1] == "REVOKED"
    [revoked] = [row for row in out.splitlines() if prefix(journey.key) in row]
    assert revoked.split()[-1] != "-"


async def test_revoking_an_unknown_or_revoked_prefix_is_a_one_line_error(
    server: Running, database_url: str
) -> None:
    api = await server.api()
    code, _, err = await keys_command(database_url, "revoke", "hks_nothing")
    assert (code, err.strip()) == (
        1,
        "hooksmith-server: no active API key has the prefix 'hks_nothing'",
    )
    assert (await keys_command(database_url, "revoke", prefix(api.key)))[0] == 0
    code, _, err = await keys_command(database_url, "revoke", prefix(api.key))
    assert code == 1
    assert err.strip().splitlines() == [
        f"hooksmith-server: no active API key has the prefix {prefix(api.key)!r}"
    ]


async def test_a_shared_prefix_is_refused_and_the_whole_key_revokes_one(
    server: Running, database_url: str
) -> None:
    a = await server.api("acme")
    b = await server.api("globex")
    conn = await asyncpg.connect(database_url)
    try:
        # Two keys whose prefixes happen to be equal.
        await conn.execute("UPDATE api_keys SET prefix = 'hks_same'")
    finally:
        await conn.close()
    code, _, err = await keys_command(database_url, "revoke", "hks_same")
    assert code == 1
    assert "2 active keys have the prefix 'hks_same'" in err
    code, _, err = await keys_command(database_url, "revoke", b.key)
    assert code == 0, err
    await expect_error(b.List(pb.ListRequest()), grpc.StatusCode.UNAUTHENTICATED)
    assert (await a.List(pb.ListRequest())).webhooks == []


async def last_use(database_url: str, key_prefix: str) -> object:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(
            "SELECT last_use_time FROM api_keys WHERE prefix = $1", key_prefix
        )
    finally:
        await conn.close()


async def test_last_use_is_written_at_most_once_a_minute(
    start_server: StartServer, database_url: str
) -> None:
    first = await start_server()
    api = await first.api()
    assert await last_use(database_url, prefix(api.key)) is None
    await api.List(pb.ListRequest())
    noted = await last_use(database_url, prefix(api.key))
    assert noted is not None
    for _ in range(5):
        await api.List(pb.ListRequest())
    # A second server looks the key up afresh, and still does not write it again.
    second = await start_server()
    for _ in range(5):
        await Api(second.stub, api.key).List(pb.ListRequest())
    assert await last_use(database_url, prefix(api.key)) == noted

    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE api_keys SET last_use_time = now() - interval '2 minutes' WHERE prefix = $1",
            prefix(api.key),
        )
    finally:
        await conn.close()
    third = await start_server()
    await Api(third.stub, api.key).List(pb.ListRequest())
    assert await last_use(database_url, prefix(api.key)) > noted  # type: ignore[operator]


async def test_each_version_records_the_key_that_saved_it(server: Running) -> None:
    creator = await server.api("acme", "console")
    editor = Api(server.stub, "")
    assert server.app.database is not None
    editor.key = await KeyStore(server.app.database).create("acme", domain.Scope.CONSOLE)
    made = (
        await creator.Create(
            pb.CreateRequest(spec=pb.WebhookSpec(name="v1", url="https://x.example.com"))
        )
    ).webhook
    assert made.created_by_key == prefix(creator.key)
    updated = (
        await editor.Update(
            pb.UpdateRequest(
                id=made.id,
                spec=pb.WebhookSpec(name="v2"),
                update_mask={"paths": ["name"]},
            )
        )
    ).webhook
    assert (updated.version, updated.created_by_key) == (2, prefix(editor.key))
    first = (await creator.Get(pb.GetRequest(id=made.id, version=1))).webhook
    assert first.created_by_key == prefix(creator.key)
    [listed] = (await editor.List(pb.ListRequest())).webhooks
    assert listed.created_by_key == prefix(editor.key)
