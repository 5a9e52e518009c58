"""Secrets at rest: nothing secret is stored in plain text, and what is sent is still right."""

from __future__ import annotations

import grpc
from standardwebhooks.webhooks import Webhook as Verifier

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith_server.store import crypto
from tests.harness.grpc_errors import expect_error
from tests.harness.history import create, message, send_one, wait_finished
from tests.harness.protos import recipients, struct
from tests.harness.receiver import StartReceiver
from tests.harness.server import SECRET_KEY, Api, Running, StartServer
from tests.integration.secrets import raw

TOKEN = "Bearer sk_live_5f0c1d2e3a4b"
NEW_TOKEN = "Bearer sk_live_99aa88bb77cc"
CURRENT = crypto.prefix(crypto.key_id(SECRET_KEY))


AUTH_SECRETS = ("pw_live_basic_5f0c1d", "tk_live_bearer_3a4b5c", "cs_live_oauth_9d8e7f")
AUTHS = (
    pb.Auth(basic=pb.BasicAuth(username="auth-user-1234", password=AUTH_SECRETS[0])),
    pb.Auth(bearer=pb.BearerAuth(token=AUTH_SECRETS[1])),
    pb.Auth(
        oauth2_client_credentials=pb.OAuth2ClientCredentials(
            token_url="https://auth.example.com/token",
            client_id="auth-client",
            client_secret=AUTH_SECRETS[2],
        )
    ),
)


def headers(token: str) -> list[pb.Header]:
    return [
        pb.Header(name="Authorization", value=token, secret=True),
        pb.Header(name="X-Visible", value="plain-marker-1234"),
    ]


def body_of(secret: str) -> str:
    """The key part of a `whsec_` secret: it must not be stored bare either."""
    return secret.removeprefix("whsec_")


async def test_no_secret_is_stored_in_plain_text_and_deliveries_carry_the_real_values(
    server: Running, start_receiver: StartReceiver
) -> None:
    api = await server.api()
    receiver = await start_receiver()
    made = await create(api, receiver.url(), headers=tuple(headers(TOKEN)))
    first_secret = made.signing_secret

    got = await send_one(api, made)
    assert got.status == pb.MESSAGE_STATUS_SUCCEEDED
    (request,) = receiver.by_id()[got.id]
    assert request.header("Authorization") == TOKEN
    Verifier(first_secret).verify(request.body, dict(request.headers))

    # The other two writes that store secrets: a new version, a new signing secret.
    updated = (
        await api.Update(
            pb.UpdateRequest(
                id=made.id,
                spec=pb.WebhookSpec(
                    name="test", url=receiver.url(), body="{}", headers=headers(NEW_TOKEN)
                ),
            )
        )
    ).webhook
    rotated = (await api.RotateSecret(pb.RotateSecretRequest(id=made.id))).webhook
    # Provider credentials: their password, token or client secret is sealed too.
    for auth in AUTHS:
        spec = pb.WebhookSpec(name="auth", url=receiver.url(), body="{}", auth=auth)
        await api.Create(pb.CreateRequest(spec=spec))
    got = await send_one(api, updated)
    assert got.status == pb.MESSAGE_STATUS_SUCCEEDED
    (request,) = receiver.by_id()[got.id]
    assert request.header("Authorization") == NEW_TOKEN
    Verifier(rotated.signing_secret).verify(request.body, dict(request.headers))
    Verifier(first_secret).verify(request.body, dict(request.headers))

    # A console key still reads every value in the clear.
    again = (await api.Get(pb.GetRequest(id=made.id))).webhook
    assert [h.value for h in again.spec.headers] == [NEW_TOKEN, "plain-marker-1234"]
    assert again.signing_secret == rotated.signing_secret

    stored = await raw.dump(server.database_url)
    assert "plain-marker-1234" in stored, "the dump holds the rows it should"
    for secret in (TOKEN, NEW_TOKEN, "sk_live", first_secret, rotated.signing_secret):
        assert secret not in stored
    assert "auth-user-1234" in stored, "the dump holds the auth rows"
    for secret in AUTH_SECRETS:
        assert secret not in stored
    for secret in (first_secret, rotated.signing_secret):
        assert body_of(secret) not in stored
    secrets = await raw.signing_secrets(server.database_url)
    assert len(secrets) == 2 + len(AUTHS)
    assert all(s.startswith(CURRENT) for s in secrets)
    sealed = await raw.secret_headers(server.database_url)
    assert len(sealed) == 2
    assert all("value" not in h and h["sealed"].startswith(CURRENT) for h in sealed)
    auths = await raw.auth_secrets(server.database_url)
    assert sorted(a["method"] for a in auths) == ["basic", "bearer", "oauth2_client_credentials"]
    assert all(a["sealed"].startswith(CURRENT) for a in auths)
    assert not any({"password", "token", "client_secret"} & set(a) for a in auths)
    assert await raw.key_ids(server.database_url) == [crypto.key_id(SECRET_KEY)]


async def test_journey_keys_never_receive_a_secret(server: Running) -> None:
    console = await server.api()
    journey = await server.api("acme", "journey")
    made = (
        await console.Create(
            pb.CreateRequest(
                spec=pb.WebhookSpec(
                    name="sms", url="https://sms.example.com/{{ userId }}", headers=headers(TOKEN)
                )
            )
        )
    ).webhook
    answers = [
        await journey.Get(pb.GetRequest(id=made.id)),
        await journey.List(pb.ListRequest()),
        await journey.Render(
            pb.RenderRequest(webhook_id=made.id, recipient=pb.Recipient(user_id="u-1"))
        ),
    ]
    for answer in answers:
        wire = answer.SerializeToString()
        assert b"sk_live" not in wire
        assert made.signing_secret.encode() not in wire
        assert body_of(made.signing_secret).encode() not in wire
    assert b"plain-marker-1234" in answers[0].SerializeToString()


async def _tamper_and_restart(
    start_server: StartServer, first: Running, queries: list[tuple[str, tuple[object, ...]]]
) -> Running:
    """Stop `first` (and its caches), change rows as an intruder would, start anew."""
    await first.app.stop()
    for query, args in queries:
        await raw.execute(first.database_url, query, *args)
    return await start_server()


async def test_altered_moved_or_plain_values_are_refused_and_nothing_is_sent(
    start_server: StartServer, start_receiver: StartReceiver
) -> None:
    receiver = await start_receiver()
    first = await start_server(workers=0)
    api = await first.api()
    donor = await create(api, receiver.url(), headers=tuple(headers("Bearer donor")))
    moved_header = await create(api, receiver.url(), headers=tuple(headers(TOKEN)))
    moved_secret = await create(api, receiver.url())
    flipped = await create(api, receiver.url())
    plain = await create(api, receiver.url())
    pending = {}
    for hook in (moved_header, moved_secret, flipped, plain):
        sent = await api.Send(
            pb.SendRequest(webhook_id=hook.id, recipients=recipients(1), data=struct(text="x"))
        )
        pending[hook.id] = sent.message_ids[0]

    donor_spec = (
        await raw.fetch(
            first.database_url, "SELECT spec FROM webhook_versions WHERE webhook_id = $1", donor.id
        )
    )[0]["spec"]
    donor_secret = (
        await raw.fetch(
            first.database_url, "SELECT secret FROM signing_secrets WHERE webhook_id = $1", donor.id
        )
    )[0]["secret"]
    head, kid, payload = donor_secret.split(":")
    altered = bytearray(payload.encode())
    altered[10] = ord("A") if altered[10] != ord("A") else ord("B")
    second = await _tamper_and_restart(
        start_server,
        first,
        [
            # Another webhook's sealed header value, copied over this one's.
            (
                "UPDATE webhook_versions SET spec = $2::jsonb WHERE webhook_id = $1",
                (moved_header.id, donor_spec),
            ),
            # Another webhook's sealed signing secret.
            (
                "UPDATE signing_secrets SET secret = $2 WHERE webhook_id = $1",
                (moved_secret.id, donor_secret),
            ),
            # One character of the ciphertext changed.
            (
                "UPDATE signing_secrets SET secret = $2 WHERE webhook_id = $1",
                (flipped.id, f"{head}:{kid}:{altered.decode()}"),
            ),
            # A secret of the intruder's choosing, in plain text.
            (
                "UPDATE signing_secrets SET secret = $2 WHERE webhook_id = $1",
                (plain.id, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            ),
        ],
    )
    api = await second.api()

    error = await expect_error(
        api.Get(pb.GetRequest(id=moved_header.id)), grpc.StatusCode.FAILED_PRECONDITION
    )
    assert "secret header 'Authorization'" in (error.details() or "")
    assert "altered or copied from another row" in (error.details() or "")

    expected = {
        moved_header.id: "secret header 'Authorization'",
        moved_secret.id: "altered or copied from another row",
        flipped.id: "altered or copied from another row",
        plain.id: "stored in plain text",
    }
    for hook_id, reason in expected.items():
        message = await _finished(api, pending[hook_id])
        assert message.status == pb.MESSAGE_STATUS_FAILED, hook_id
        [attempt] = message.attempts
        assert reason in attempt.error, attempt.error
        assert "internal error" not in attempt.error
    assert receiver.received == [], "no request is built from a value that did not open"
    # The webhook the values were taken from is untouched.
    good = await send_one(api, donor)
    assert good.status == pb.MESSAGE_STATUS_SUCCEEDED
    (request,) = receiver.by_id()[good.id]
    assert request.header("Authorization") == "Bearer donor"


async def _finished(api: Api, message_id: str) -> pb.Message:
    await wait_finished(api, [message_id])
    return await message(api, message_id)
