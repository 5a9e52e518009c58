"""`WebhookSpec.auth` over gRPC: validation naming the field, Update, what each key sees,
and Render's masked Authorization header."""

from __future__ import annotations

import base64

import pytest
from google.protobuf import field_mask_pb2

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.grpc_errors import expect_invalid
from tests.harness.protos import struct
from tests.harness.server import Api, Running

PASSWORD = "pw_live_7a6b5c4d3e2f1a0b"
TOKEN = "sk_live_bearer_0f1e2d3c4b5a"
CLIENT_SECRET = "cs_live_9d8c7b6a5f4e3d2c"

BASIC = pb.Auth(basic=pb.BasicAuth(username="acme", password=PASSWORD))
BEARER = pb.Auth(bearer=pb.BearerAuth(token=TOKEN))
OAUTH2 = pb.Auth(
    oauth2_client_credentials=pb.OAuth2ClientCredentials(
        token_url="https://auth.provider.example/oauth/token",
        client_id="hooksmith",
        client_secret=CLIENT_SECRET,
        scopes=["sms:send"],
        audience="https://api.provider.example",
    )
)


def spec(auth: pb.Auth, **fields: object) -> pb.WebhookSpec:
    return pb.WebhookSpec(
        name="provider",
        url="https://api.provider.example/v1/send",
        body='{"to": "{{ userId }}"}',
        auth=auth,
        **fields,  # type: ignore[arg-type]
    )


def oauth2(**fields: object) -> pb.Auth:
    values: dict[str, object] = {
        "token_url": "https://auth.provider.example/oauth/token",
        "client_id": "hooksmith",
        "client_secret": CLIENT_SECRET,
    }
    values.update(fields)
    return pb.Auth(oauth2_client_credentials=pb.OAuth2ClientCredentials(**values))  # type: ignore[arg-type]


OAUTH = "spec.auth.oauth2_client_credentials"


@pytest.mark.parametrize(
    ("auth", "field", "fragment"),
    [
        (oauth2(token_url="ftp://auth.example/token"), f"{OAUTH}.token_url", "http:// or https://"),
        (oauth2(token_url=""), f"{OAUTH}.token_url", "is required"),
        (oauth2(token_url="https://"), f"{OAUTH}.token_url", "host"),
        (oauth2(token_url="https://a:b@auth.example/t"), f"{OAUTH}.token_url", "credentials"),
        (oauth2(token_url="https://auth.example/\n"), f"{OAUTH}.token_url", "control"),
        (oauth2(client_id=""), f"{OAUTH}.client_id", "is required"),
        (oauth2(client_id="a\tb"), f"{OAUTH}.client_id", "control characters"),
        (oauth2(client_id="x" * 257), f"{OAUTH}.client_id", "at most 256"),
        (oauth2(client_secret=""), f"{OAUTH}.client_secret", "is required"),
        (oauth2(client_secret="s" * 1025), f"{OAUTH}.client_secret", "at most 1,024"),
        (oauth2(scopes=["ok", "two words"]), f"{OAUTH}.scopes[1]", "one scope"),
        (oauth2(scopes=[f"s{i}" for i in range(51)]), f"{OAUTH}.scopes", "at most 50"),
        (oauth2(audience="a\x7fb"), f"{OAUTH}.audience", "control characters"),
        (
            pb.Auth(basic=pb.BasicAuth(username="", password="p")),
            "spec.auth.basic.username",
            "is required",
        ),
        (
            pb.Auth(basic=pb.BasicAuth(username="a:b", password="p")),
            "spec.auth.basic.username",
            "':'",
        ),
        (
            pb.Auth(basic=pb.BasicAuth(username="a", password="p\r\nX-Injected: 1")),
            "spec.auth.basic.password",
            "control characters",
        ),
        (pb.Auth(bearer=pb.BearerAuth(token="")), "spec.auth.bearer.token", "is required"),
        (
            pb.Auth(bearer=pb.BearerAuth(token="Bearer abc")),
            "spec.auth.bearer.token",
            "without spaces",
        ),
        (
            pb.Auth(bearer=pb.BearerAuth(token="t" * 8193)),
            "spec.auth.bearer.token",
            "at most 8,192",
        ),
    ],
)
async def test_bad_credentials_are_invalid_argument_naming_the_field(
    api: Api, auth: pb.Auth, field: str, fragment: str
) -> None:
    await expect_invalid(api.Create(pb.CreateRequest(spec=spec(auth))), field, fragment)


async def test_auth_and_an_authorization_header_together_are_refused(api: Api) -> None:
    both = spec(
        BEARER,
        headers=[
            pb.Header(name="X-Trace", value="1"),
            pb.Header(name="authorization", value="Bearer other", secret=True),
        ],
    )
    await expect_invalid(
        api.Create(pb.CreateRequest(spec=both)), "spec.headers[1].name", "made from auth"
    )
    # Without auth, the header alone is still accepted as before.
    alone = pb.WebhookSpec()
    alone.CopyFrom(both)
    alone.ClearField("auth")
    assert (await api.Create(pb.CreateRequest(spec=alone))).webhook.id


async def test_console_keys_read_credentials_back_and_update_replaces_them(api: Api) -> None:
    made = (await api.Create(pb.CreateRequest(spec=spec(OAUTH2)))).webhook
    assert made.spec.auth == OAUTH2
    assert (await api.Get(pb.GetRequest(id=made.id))).webhook.spec.auth == OAUTH2

    # A change to another field keeps the credentials.
    renamed = (
        await api.Update(
            pb.UpdateRequest(
                id=made.id,
                spec=pb.WebhookSpec(name="renamed"),
                update_mask=field_mask_pb2.FieldMask(paths=["name"]),
            )
        )
    ).webhook
    assert renamed.spec.auth == OAUTH2
    # `auth` in the mask replaces them; an empty Auth removes them.
    basic = (
        await api.Update(
            pb.UpdateRequest(
                id=made.id,
                spec=pb.WebhookSpec(auth=BASIC),
                update_mask=field_mask_pb2.FieldMask(paths=["auth"]),
            )
        )
    ).webhook
    assert basic.spec.auth == BASIC
    assert basic.spec.name == "renamed"
    cleared = (
        await api.Update(
            pb.UpdateRequest(
                id=made.id,
                spec=pb.WebhookSpec(),
                update_mask=field_mask_pb2.FieldMask(paths=["auth"]),
            )
        )
    ).webhook
    assert not cleared.spec.HasField("auth")
    # Older versions keep theirs.
    first = (await api.Get(pb.GetRequest(id=made.id, version=1))).webhook
    assert first.spec.auth == OAUTH2


async def test_journey_keys_see_credentials_masked_everywhere(server: Running) -> None:
    console = await server.api()
    journey = await server.api("acme", "journey")
    made = [
        (await console.Create(pb.CreateRequest(spec=spec(auth)))).webhook
        for auth in (BASIC, BEARER, OAUTH2)
    ]
    answers = [await journey.List(pb.ListRequest())]
    for hook in made:
        answers.append(await journey.Get(pb.GetRequest(id=hook.id)))
        answers.append(
            await journey.Render(
                pb.RenderRequest(webhook_id=hook.id, recipient=pb.Recipient(user_id="u-1"))
            )
        )
    for answer in answers:
        wire = answer.SerializeToString()
        for secret in (PASSWORD, TOKEN, CLIENT_SECRET, "_live_"):
            assert secret.encode() not in wire
    seen = {
        w.spec.auth.WhichOneof("method"): w.spec.auth
        for w in (await journey.List(pb.ListRequest())).webhooks
    }
    assert seen["basic"].basic.username == "acme"
    assert seen["basic"].basic.password.startswith("****")
    assert seen["bearer"].bearer.token.startswith("****")
    oauth = seen["oauth2_client_credentials"].oauth2_client_credentials
    assert oauth.client_secret.startswith("****")
    assert (oauth.token_url, oauth.client_id, list(oauth.scopes)) == (
        "https://auth.provider.example/oauth/token",
        "hooksmith",
        ["sms:send"],
    )


def authorization(request: pb.HttpRequest) -> list[str]:
    return [h.value for h in request.headers if h.name.lower() == "authorization"]


async def test_render_shows_the_authorization_header_masked(api: Api) -> None:
    expected_basic = "Basic " + base64.b64encode(f"acme:{PASSWORD}".encode()).decode()
    for auth, real in ((BASIC, expected_basic), (BEARER, f"Bearer {TOKEN}")):
        made = (await api.Create(pb.CreateRequest(spec=spec(auth)))).webhook
        out = await api.Render(
            pb.RenderRequest(webhook_id=made.id, recipient=pb.Recipient(user_id="u-1"))
        )
        [shown] = authorization(out.request)
        scheme = real.split(" ")[0]
        assert shown.startswith(f"{scheme} ****")
        assert shown != real
        assert real.endswith(shown.removeprefix(f"{scheme} ****"))
    [basic_shown] = authorization(
        (
            await api.Render(
                pb.RenderRequest(draft=spec(BASIC), recipient=pb.Recipient(user_id="u-1"))
            )
        ).request
    )
    # Nothing of a Basic value's base64, whose end would encode the password's end.
    assert basic_shown == "Basic ****"
    # An OAuth2 token is fetched at send time, never for a preview.
    out = await api.Render(
        pb.RenderRequest(draft=spec(OAUTH2), recipient=pb.Recipient(user_id="u-1"), data=struct())
    )
    assert authorization(out.request) == ["Bearer ****"]
