"""AES-GCM envelopes for secrets at rest, and the keys that seal them.

An envelope is `v1:<key id>:<base64 of nonce + ciphertext + tag>`: a fresh 12-byte
nonce per value, AES-256-GCM, and associated data that names where the value is kept
(which field of which row), so a value copied to another row or field does not open.

A key is 32 random bytes, written as their base64. Its id is the first 16 hex digits
of SHA-256 over a label and the key: it tells keys apart in envelopes and in the
database's list of keys without saying anything about the key itself. Operators never
name keys; moving the current key to `HOOKSMITH_SECRET_KEYS_OLD` and setting a new one
is all a rotation needs.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hooksmith_server import errors
from hooksmith_server.config import SECRET_KEY_BYTES, parse_secret_key

VERSION = "v1"
NONCE_BYTES = 12
_ID_LABEL = b"hooksmith secret key id\x00"


class SecretKeyError(errors.FailedPrecondition):
    """A stored secret cannot be opened with the configured keys."""


def new_key() -> bytes:
    """32 random bytes: a new key."""
    return os.urandom(SECRET_KEY_BYTES)


def encode_key(key: bytes) -> str:
    """The key as it is written in `HOOKSMITH_SECRET_KEY` and in the key file."""
    return base64.b64encode(key).decode("ascii")


def key_id(key: bytes) -> str:
    """The public name of `key`: 16 hex digits of SHA-256 over a label and the key."""
    return hashlib.sha256(_ID_LABEL + key).hexdigest()[:16]


def envelope_key_id(value: str) -> str | None:
    """The id of the key that sealed `value`, or None when `value` is not an envelope."""
    parts = value.split(":", 2)
    if len(parts) == 3 and parts[0] == VERSION:
        return parts[1]
    return None


def prefix(kid: str | None = None) -> str:
    """What every envelope starts with (`v1:`), or every envelope sealed by key `kid`."""
    return f"{VERSION}:{kid}:" if kid else f"{VERSION}:"


class Keyring:
    """The current key, which seals, and the older keys, which still open.

    The keys themselves never appear in `repr`, logs or errors; only their ids do.
    """

    def __init__(self, current: bytes, old: Sequence[bytes] = ()) -> None:
        for key in (current, *old):
            if len(key) != SECRET_KEY_BYTES:
                raise ValueError(f"a secret key is {SECRET_KEY_BYTES} bytes, not {len(key)}")
        self.current_id = key_id(current)
        self._ciphers = {key_id(key): AESGCM(key) for key in (*old, current)}

    def __repr__(self) -> str:
        return f"Keyring(current={self.current_id}, ids={sorted(self._ciphers)})"

    @property
    def ids(self) -> frozenset[str]:
        """The ids of every key that can open values, the current one included."""
        return frozenset(self._ciphers)

    def seal(self, plaintext: str, where: str) -> str:
        """An envelope of `plaintext` under the current key, bound to `where`."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.current_id].encrypt(
            nonce, plaintext.encode("utf-8"), where.encode("utf-8")
        )
        payload = base64.b64encode(nonce + sealed).decode("ascii")
        return f"{VERSION}:{self.current_id}:{payload}"

    def open(self, envelope: str, where: str, what: str) -> str:
        """The plaintext of `envelope`, which must have been sealed for `where`.

        `what` names the value in errors ("the signing secret of webhook ..."); an
        envelope that does not open raises `SecretKeyError`, never returns garbage.
        """
        kid = envelope_key_id(envelope)
        if kid is None:
            raise SecretKeyError(
                f"{what} is stored in plain text or in an unknown format, not sealed; "
                "it is refused (run `hooksmith-server secrets rotate-key` to seal values "
                "left by an older version)"
            )
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise SecretKeyError(
                f"{what} is sealed with key {kid}, which is neither HOOKSMITH_SECRET_KEY "
                "nor one of HOOKSMITH_SECRET_KEYS_OLD"
            )
        try:
            raw = base64.b64decode(envelope.split(":", 2)[2], validate=True)
            if len(raw) <= NONCE_BYTES:
                raise InvalidTag
            plain = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], where.encode("utf-8"))
            return plain.decode("utf-8")
        except (InvalidTag, binascii.Error, UnicodeDecodeError):
            raise SecretKeyError(
                f"{what} does not open with key {kid}: the stored value was altered "
                "or copied from another row"
            ) from None


def key_file(path: Path) -> bytes:
    """The key kept in `path`, made (mode 0600) on first use.

    The file is written in full under a temporary name and then linked into place, so
    processes starting together agree on one key and none reads a half-written file.
    """
    try:
        return _read_key_file(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(encode_key(new_key()) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o600)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return _read_key_file(path)


def _read_key_file(path: Path) -> bytes:
    try:
        return parse_secret_key(path.read_text("ascii").strip())
    except ValueError as e:
        raise SecretKeyError(f"the secret key file {path} cannot be used: {e}") from None
