"""A found API key's stored hash is compared with the computed one in constant time."""

from __future__ import annotations

import hashlib

import pytest

from hooksmith_server.store.keys import digest_matches, hash_key

KEY = "hks_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"


def flipped(digest: bytes, at: int) -> bytes:
    out = bytearray(digest)
    out[at] ^= 0x01
    return bytes(out)


def test_a_key_matches_its_stored_hash() -> None:
    stored = hash_key(KEY)
    assert stored == hashlib.sha256(KEY.encode()).digest()
    assert digest_matches(stored, hash_key(KEY))


@pytest.mark.parametrize(
    "stored",
    [
        hash_key(KEY + "x"),
        flipped(hash_key(KEY), 0),
        flipped(hash_key(KEY), 31),
        hash_key(KEY)[:31],
        hash_key(KEY) + b"\x00",
        b"",
    ],
    ids=["another-key", "first-byte", "last-byte", "shorter", "longer", "empty"],
)
def test_any_other_stored_hash_does_not_match(stored: bytes) -> None:
    assert not digest_matches(stored, hash_key(KEY))


def test_keys_that_are_not_utf8_text_hash_without_error() -> None:
    # A lone surrogate cannot come over gRPC, but hashing must not fail on it.
    assert digest_matches(hash_key("hks_\ud800"), hash_key("hks_\ud800"))
    assert not digest_matches(hash_key("hks_\ud800"), hash_key("hks_\ud801"))
