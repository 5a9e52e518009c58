"""Secret keys and the AES-GCM envelopes they seal: format, binding, tampering, key files."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from hooksmith_server.config import ConfigError, Settings
from hooksmith_server.store import crypto

KEY = b"k" * 31 + b"1"
OTHER = b"o" * 31 + b"2"
PLACE = "hooksmith/header/ws/hook/1/0/Authorization"


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def test_a_sealed_value_opens_only_where_it_was_sealed() -> None:
    ring = crypto.Keyring(KEY)
    sealed = ring.seal("Bearer sk_live_123", PLACE)
    assert sealed.startswith(f"v1:{crypto.key_id(KEY)}:")
    assert "sk_live" not in sealed
    assert ring.open(sealed, PLACE, "the header") == "Bearer sk_live_123"
    with pytest.raises(crypto.SecretKeyError, match="the header does not open with key"):
        ring.open(sealed, PLACE.replace("/1/", "/2/"), "the header")


def test_each_seal_uses_a_fresh_nonce() -> None:
    ring = crypto.Keyring(KEY)
    assert ring.seal("same", PLACE) != ring.seal("same", PLACE)


@pytest.mark.parametrize("position", [3, 20, -1])
def test_a_changed_byte_anywhere_in_the_ciphertext_is_refused(position: int) -> None:
    ring = crypto.Keyring(KEY)
    head, kid, payload = ring.seal("secret", PLACE).split(":")
    raw = bytearray(base64.b64decode(payload))
    raw[position] ^= 0x01
    altered = f"{head}:{kid}:{base64.b64encode(bytes(raw)).decode()}"
    with pytest.raises(crypto.SecretKeyError, match="altered or copied from another row"):
        ring.open(altered, PLACE, "the value")


@pytest.mark.parametrize("stored", ["v1:abc:!!!", "v1:abc:", "v1:abc:AAAA"])
def test_a_malformed_envelope_is_refused(stored: str) -> None:
    ring = crypto.Keyring(KEY)
    kid = crypto.key_id(KEY)
    with pytest.raises(crypto.SecretKeyError, match="does not open"):
        ring.open(stored.replace("abc", kid), PLACE, "the value")


def test_plain_text_where_an_envelope_belongs_is_refused() -> None:
    with pytest.raises(crypto.SecretKeyError, match="stored in plain text"):
        crypto.Keyring(KEY).open("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", PLACE, "the secret")


def test_old_keys_open_and_only_the_current_key_seals() -> None:
    before = crypto.Keyring(OTHER).seal("v", PLACE)
    ring = crypto.Keyring(KEY, [OTHER])
    assert ring.open(before, PLACE, "x") == "v"
    assert ring.seal("v", PLACE).startswith(f"v1:{crypto.key_id(KEY)}:")
    assert ring.ids == {crypto.key_id(KEY), crypto.key_id(OTHER)}


def test_a_value_sealed_with_an_unknown_key_names_that_key() -> None:
    sealed = crypto.Keyring(OTHER).seal("v", PLACE)
    with pytest.raises(crypto.SecretKeyError, match=f"sealed with key {crypto.key_id(OTHER)}"):
        crypto.Keyring(KEY).open(sealed, PLACE, "x")


def test_key_ids_are_short_stable_and_say_nothing_of_the_key() -> None:
    kid = crypto.key_id(KEY)
    assert kid == crypto.key_id(KEY)
    assert len(kid) == 16
    assert int(kid, 16) >= 0
    assert kid != crypto.key_id(OTHER)
    assert KEY.hex()[:16] != kid
    shown = repr(crypto.Keyring(KEY))
    assert b64(KEY) not in shown
    assert KEY.decode() not in shown


def test_keys_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes, not 16"):
        crypto.Keyring(b"x" * 16)


def test_the_key_file_is_made_once_with_mode_0600_and_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret-key"
    first = crypto.key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) == 32
    assert path.read_text().strip() == b64(first)
    assert crypto.key_file(path) == first
    assert [p.name for p in path.parent.iterdir()] == ["secret-key"], "no temporary left"


def test_an_unusable_key_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "secret-key"
    path.write_text("not a key\n")
    with pytest.raises(crypto.SecretKeyError, match=f"secret key file {path} cannot be used"):
        crypto.key_file(path)


def test_settings_read_the_current_and_the_old_keys() -> None:
    settings = Settings.from_env(
        {
            "HOOKSMITH_SECRET_KEY": b64(KEY),
            "HOOKSMITH_SECRET_KEYS_OLD": f"{b64(OTHER)}, {b64(b'zy' * 16)}",
        }
    )
    assert settings.secret_key == KEY
    assert settings.secret_keys_old == (OTHER, b"zy" * 16)
    assert b64(KEY) not in repr(settings)
    assert Settings.from_env({}).secret_key is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HOOKSMITH_SECRET_KEY": "short"}, "HOOKSMITH_SECRET_KEY: not the base64 of 32"),
        ({"HOOKSMITH_SECRET_KEY": b64(os.urandom(16))}, "HOOKSMITH_SECRET_KEY: not the base64"),
        ({"HOOKSMITH_SECRET_KEY": b64(b"\0" * 32)}, "openssl rand -base64 32"),
        (
            {"HOOKSMITH_SECRET_KEY": b64(KEY), "HOOKSMITH_SECRET_KEYS_OLD": "nope"},
            "HOOKSMITH_SECRET_KEYS_OLD: not the base64",
        ),
        ({"HOOKSMITH_SECRET_KEYS_OLD": b64(KEY)}, "set HOOKSMITH_SECRET_KEY too"),
    ],
)
def test_bad_keys_are_refused_naming_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)
