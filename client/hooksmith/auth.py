"""Provider credentials for `WebhookSpec.auth`: how a webhook's requests authenticate.

Each helper returns a `hooksmith.v1.webhooks_pb2.Auth`, usable in a proto spec
(`WebhookSpec(auth=...)`) or as the `"auth"` value of a dict spec::

    client.create({"name": "SMS", "url": "https://sms.example.com/v1/send",
                   "auth": hooksmith.auth.bearer("sk_live_123")})

The server keeps the secrets encrypted, makes the Authorization header at send time,
and shows it masked in history.
"""

from __future__ import annotations

from collections.abc import Iterable

from hooksmith.v1 import webhooks_pb2 as pb

__all__ = ["basic", "bearer", "oauth2_client_credentials"]


def basic(username: str, password: str) -> pb.Auth:
    """`Authorization: Basic base64(username:password)`."""
    return pb.Auth(basic=pb.BasicAuth(username=username, password=password))


def bearer(token: str) -> pb.Auth:
    """`Authorization: Bearer <token>`; give the token alone."""
    return pb.Auth(bearer=pb.BearerAuth(token=token))


def oauth2_client_credentials(
    token_url: str,
    client_id: str,
    client_secret: str,
    *,
    scopes: Iterable[str] = (),
    audience: str = "",
) -> pb.Auth:
    """A token from `token_url` by the client credentials grant, sent as a bearer token."""
    return pb.Auth(
        oauth2_client_credentials=pb.OAuth2ClientCredentials(
            token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            scopes=list(scopes),
            audience=audience,
        )
    )
