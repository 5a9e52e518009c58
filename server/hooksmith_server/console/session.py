"""The console's session cookie and CSRF tokens.

A session is sealed with AES-GCM under a key derived (HKDF-SHA256) from the console's
master key: the browser can neither read nor alter it, and one sealed under another key,
cut short or past its expiry opens to nothing. It holds a random nonce, the API key the
operator signed in with (so every request is checked by the same authenticator as a gRPC
call, and a revoked key ends the session at once) and the time it expires.

A form's CSRF token is an HMAC of the session's nonce under a second derived key: a page
of another origin can neither read it nor compute it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

COOKIE = "hooksmith_console"
SESSION_TTL = 8 * 3600
"""Seconds a session lasts after signing in (or after a visit without signing in)."""
_NONCE_BYTES = 12
_MIN_MASTER_BYTES = 32


@dataclass(frozen=True)
class Session:
    """What the cookie carries."""

    nonce: str
    expires: float
    api_key: str | None = None
    """The key signed in with; None before signing in."""

    @property
    def signed_in(self) -> bool:
        return self.api_key is not None


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"hooksmith console " + purpose
    ).derive(master)


class Sessions:
    """Seals and opens session cookies and makes and checks CSRF tokens."""

    def __init__(self, master_key: bytes, *, ttl: float = SESSION_TTL) -> None:
        if len(master_key) < _MIN_MASTER_BYTES:
            raise ValueError(f"the console's key must be at least {_MIN_MASTER_BYTES} bytes")
        self._aead = AESGCM(_derive(master_key, b"session"))
        self._csrf_key = _derive(master_key, b"csrf")
        self.ttl = ttl

    def new(self, api_key: str | None = None) -> Session:
        """A fresh session (a new nonce, so a new CSRF token) lasting `ttl` from now."""
        nonce = base64.urlsafe_b64encode(os.urandom(18)).decode("ascii")
        return Session(nonce=nonce, expires=time.time() + self.ttl, api_key=api_key)

    def seal(self, session: Session) -> str:
        payload = json.dumps({"n": session.nonce, "e": session.expires, "k": session.api_key})
        iv = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(iv, payload.encode("utf-8"), COOKIE.encode("ascii"))
        return base64.urlsafe_b64encode(iv + sealed).decode("ascii").rstrip("=")

    def open(self, cookie: str | None) -> Session | None:
        """The session in `cookie`; None when it is absent, altered, foreign or expired."""
        if not cookie or len(cookie) > 4096:
            return None
        try:
            raw = base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], COOKIE.encode())
            data = json.loads(plain)
            session = Session(
                nonce=str(data["n"]),
                expires=float(data["e"]),
                api_key=None if data["k"] is None else str(data["k"]),
            )
        except (binascii.Error, ValueError, InvalidTag, KeyError, TypeError):
            return None
        if session.expires <= time.time():
            return None
        return session

    def csrf_token(self, session: Session) -> str:
        return hmac.new(self._csrf_key, session.nonce.encode("ascii"), hashlib.sha256).hexdigest()

    def csrf_ok(self, session: Session | None, token: object) -> bool:
        if session is None or not isinstance(token, str) or not token:
            return False
        return hmac.compare_digest(self.csrf_token(session), token)
