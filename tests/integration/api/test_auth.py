"""API keys decide the workspace and what may be called."""

from __future__ import annotations

from collections.abc import Iterable

import grpc

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith_server.delivery.masking import mask_header_value, mask_value
from tests.harness.grpc_errors import expect_error
from tests.harness.protos import struct
from tests.harness.server import Running


def spec() -> pb.WebhookSpec:
    return pb.WebhookSpec(name="coupon", url="https://api.example.com/coupons/{{ userId }}")


async def test_missing_malformed_and_unknown_keys_are_unauthenticated(server: Running) -> None:
    request = pb.ListRequest()
    e = await expect_error(server.stub.List(request), grpc.StatusCode.UNAUTHENTICATED)
    assert "authorization" in (e.details() or "")
    await expect_error(
        server.stub.List(request, metadata=(("authorization", "Basic abc"),)),
        grpc.StatusCode.UNAUTHENTICATED,
    )
    await expect_error(
        server.stub.List(request, metadata=(("authorization", "Bearer hks_nope"),)),
        grpc.StatusCode.UNAUTHENTICATED,
    )
    await expect_error(
        server.stub.List(request, metadata=(("authorization", "Bearer "),)),
        grpc.StatusCode.UNAUTHENTICATED,
    )


async def test_workspaces_never_see_each_others_webhooks(server: Running) -> None:
    acme = await server.api("acme")
    globex = await server.api("globex")
    mine = (await acme.Create(pb.CreateRequest(spec=spec()))).webhook

    assert (await globex.List(pb.ListRequest(show_archived=True))).webhooks == []
    for call in (
        globex.Get(pb.GetRequest(id=mine.id)),
        globex.Update(pb.UpdateRequest(id=mine.id, spec=spec())),
        globex.Delete(pb.DeleteRequest(id=mine.id)),
        globex.RotateSecret(pb.RotateSecretRequest(id=mine.id)),
        globex.Render(pb.RenderRequest(webhook_id=mine.id)),
    ):
        await expect_error(call, grpc.StatusCode.NOT_FOUND)
    still = (await acme.Get(pb.GetRequest(id=mine.id))).webhook
    assert (still.version, still.state) == (1, pb.WEBHOOK_STATE_ACTIVE)


async def test_journey_keys_may_only_send_get_list_and_render(server: Running) -> None:
    console = await server.api("acme", "console")
    journey = await server.api("acme", "journey")
    made = (await console.Create(pb.CreateRequest(spec=spec()))).webhook

    assert (await journey.Get(pb.GetRequest(id=made.id))).webhook.id == made.id
    assert [w.id for w in (await journey.List(pb.ListRequest())).webhooks] == [made.id]
    rendered = await journey.Render(
        pb.RenderRequest(webhook_id=made.id, recipient=pb.Recipient(user_id="u1"))
    )
    assert rendered.request.url == "https://api.example.com/coupons/u1"
    for call in (
        journey.Create(pb.CreateRequest(spec=spec())),
        journey.Update(pb.UpdateRequest(id=made.id, spec=spec())),
        journey.Delete(pb.DeleteRequest(id=made.id)),
        journey.RotateSecret(pb.RotateSecretRequest(id=made.id)),
    ):
        await expect_error(call, grpc.StatusCode.PERMISSION_DENIED)
    assert (await console.Get(pb.GetRequest(id=made.id))).webhook.version == 1


def spec_with_credentials() -> pb.WebhookSpec:
    return pb.WebhookSpec(
        name="sms",
        url="https://sms.example.com/v1/messages",
        headers=[
            pb.Header(name="X-Api-Key", value="key-0123456789abcdef", secret=True),
            pb.Header(name="Authorization", value="Bearer {{ token }}"),
            pb.Header(name="X-Region", value="eu"),
        ],
    )


def header_values(headers: Iterable[pb.Header]) -> dict[str, str]:
    return {h.name: h.value for h in headers}


async def test_journey_keys_see_no_signing_secret_and_masked_secret_headers(
    server: Running,
) -> None:
    console = await server.api("acme", "console")
    journey = await server.api("acme", "journey")
    made = (await console.Create(pb.CreateRequest(spec=spec_with_credentials()))).webhook
    masked = {
        "X-Api-Key": mask_value("key-0123456789abcdef"),
        "Authorization": mask_header_value("Bearer {{ token }}"),
        "X-Region": "eu",
    }

    got = (await journey.Get(pb.GetRequest(id=made.id))).webhook
    [listed] = (await journey.List(pb.ListRequest())).webhooks
    for webhook in (got, listed):
        assert webhook.signing_secret == ""
        assert header_values(webhook.spec.headers) == masked
        assert [h.secret for h in webhook.spec.headers] == [True, False, False]
        assert (webhook.id, webhook.version, webhook.spec.url) == (made.id, 1, made.spec.url)
    assert "key-0123456789abcdef" not in str(got) + str(listed)

    rendered = await journey.Render(
        pb.RenderRequest(webhook_id=made.id, data=struct(token="tok-0123456789abcdef"))
    )
    headers = header_values(rendered.request.headers)
    assert headers["X-Api-Key"] == mask_value("key-0123456789abcdef")
    assert headers["Authorization"] == mask_header_value("Bearer tok-0123456789abcdef")
    assert headers["X-Region"] == "eu"


async def test_console_keys_see_secrets_in_the_clear(server: Running) -> None:
    console = await server.api("acme", "console")
    made = (await console.Create(pb.CreateRequest(spec=spec_with_credentials()))).webhook
    clear = header_values(spec_with_credentials().headers)

    got = (await console.Get(pb.GetRequest(id=made.id))).webhook
    [listed] = (await console.List(pb.ListRequest())).webhooks
    for webhook in (got, listed):
        assert webhook.signing_secret == made.signing_secret
        assert webhook.signing_secret.startswith("whsec_")
        assert header_values(webhook.spec.headers) == clear
    rendered = await console.Render(
        pb.RenderRequest(webhook_id=made.id, data=struct(token="tok-0123456789abcdef"))
    )
    assert header_values(rendered.request.headers)["X-Api-Key"] == "key-0123456789abcdef"
    assert header_values(rendered.request.headers)["Authorization"] == "Bearer tok-0123456789abcdef"
