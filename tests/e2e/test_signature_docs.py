"""The receivers in docs/verifying-signatures.md, run exactly as written, verify real
deliveries: they accept a signed request (also after a secret rotation) and refuse the
same request with its body altered."""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.network import free_port
from tests.harness.polling import wait_until
from tests.harness.protos import struct
from tests.harness.server import Api

DOC = Path(__file__).resolve().parents[2] / "docs" / "verifying-signatures.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
NODE = shutil.which("node")


def snippet(language: str) -> str:
    """The doc's one code block in `language`."""
    blocks = [code for lang, code in BLOCK.findall(DOC.read_text()) if lang == language]
    assert len(blocks) == 1, f"expected one {language} block in {DOC.name}, found {len(blocks)}"
    return blocks[0]


async def port_open(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True


@asynccontextmanager
async def run_receiver(
    argv: list[str], secret: str, port: int
) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        *argv,
        env={"WEBHOOK_SECRET": secret, "PORT": str(port), "PATH": "/usr/bin:/bin"},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:

        async def ready() -> bool:
            assert process.returncode is None, "the receiver exited before it listened"
            return await port_open(port)

        await wait_until(ready, timeout=30)
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
        await asyncio.wait_for(process.wait(), 10)


async def send_test(api: Api, webhook_id: str) -> pb.Message:
    out = await api.SendTest(
        pb.SendTestRequest(
            webhook_id=webhook_id,
            recipients=[pb.Recipient(user_id="u-42", tags=struct(tier="gold"))],
            data=struct(text="Your code is 1234"),
        )
    )
    (message,) = out.messages
    return message


async def replay(port: int, request: pb.HttpRequest, body: str) -> int:
    """Send the recorded request again, with `body`, straight to the receiver."""
    headers = {h.name: h.value for h in request.headers}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{port}/hooks", data=body.encode(), headers=headers
        ) as response,
    ):
        return response.status


@pytest.mark.parametrize("language", ["python", "js"])
async def test_the_documented_receiver_accepts_real_deliveries_and_refuses_tampering(
    api: Api, tmp_path: Path, language: str
) -> None:
    if language == "js" and NODE is None:
        pytest.fail("node is required to run the Node receiver of docs/verifying-signatures.md")
    path = tmp_path / ("receiver.py" if language == "python" else "receiver.js")
    path.write_text(snippet(language))
    argv = [sys.executable, str(path)] if language == "python" else [str(NODE), str(path)]

    port = free_port()
    spec = pb.WebhookSpec(
        name="signed",
        url=f"http://127.0.0.1:{port}/hooks",
        body='{"user": "{{ userId }}", "tier": "{{ tags.tier }}", "text": "{{ text }}"}',
    )
    webhook = (await api.Create(pb.CreateRequest(spec=spec))).webhook
    assert webhook.signing_secret.startswith("whsec_")

    async with run_receiver(argv, webhook.signing_secret, port):
        message = await send_test(api, webhook.id)
        assert message.error == ""
        assert message.response.status_code == 204, "a real signed delivery is accepted"
        sent = message.request
        names = {h.name for h in sent.headers}
        assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= names

        # The recorded request, replayed: accepted as it is, refused once altered.
        assert await replay(port, sent, sent.body) == 204
        tampered = sent.body.replace("u-42", "u-43")
        assert tampered != sent.body
        assert await replay(port, sent, tampered) == 400

        # After a rotation requests carry two signatures; the old secret still verifies.
        rotated = (await api.RotateSecret(pb.RotateSecretRequest(id=webhook.id))).webhook
        assert rotated.signing_secret != webhook.signing_secret
        message = await send_test(api, webhook.id)
        signature = next(h.value for h in message.request.headers if h.name == "webhook-signature")
        assert len(signature.split(" ")) == 2
        assert message.response.status_code == 204
