"""The key benchmark servers seal secrets at rest with: fixed, as their data is thrown away."""

from __future__ import annotations

import base64

from hooksmith_server.store.crypto import Keyring

SECRET_KEY = b"hooksmith bench key, not secret!"
"""32 bytes, as HOOKSMITH_SECRET_KEY wants."""

SECRET_KEY_BASE64 = base64.b64encode(SECRET_KEY).decode("ascii")
"""`SECRET_KEY` as HOOKSMITH_SECRET_KEY is written, for server processes."""


def keyring() -> Keyring:
    """The keys of benchmark servers, for stores used without a server."""
    return Keyring(SECRET_KEY)
