"""Hooksmith client: `Client` (asyncio) and `SyncClient` (blocking) for the
`hooksmith.v1.WebhookService`, errors in `hooksmith.errors`, provider credentials for
specs in `hooksmith.auth`, and the generated gRPC stubs
in `hooksmith.v1`."""

from hooksmith import auth, errors
from hooksmith._channel import SERVICE_CONFIG, channel_options
from hooksmith._client import Client
from hooksmith._requests import RecipientLike, Spec, Values
from hooksmith._sync import SyncClient
from hooksmith.errors import HooksmithError

__all__ = [
    "SERVICE_CONFIG",
    "Client",
    "HooksmithError",
    "RecipientLike",
    "Spec",
    "SyncClient",
    "Values",
    "auth",
    "channel_options",
    "errors",
]
