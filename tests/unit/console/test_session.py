"""The console's sealed session cookie and its CSRF tokens."""

from __future__ import annotations

import time

import pytest

from hooksmith_server.console.session import Sessions

KEY = b"k" * 16 + b"e" * 16
OTHER = b"o" * 16 + b"x" * 16


def test_a_sealed_session_opens_to_what_was_sealed_and_hides_the_key() -> None:
    sessions = Sessions(KEY)
    session = sessions.new(api_key="hs_live_secret_key")
    cookie = sessions.seal(session)
    assert "hs_live_secret_key" not in cookie
    assert sessions.open(cookie) == session
    assert sessions.open(cookie).signed_in  # type: ignore[union-attr]


@pytest.mark.parametrize("cookie", ["", "not base64!", "AAAA", "A" * 5000])
def test_garbage_is_no_session(cookie: str) -> None:
    assert Sessions(KEY).open(cookie) is None


def test_an_altered_or_foreign_cookie_is_no_session() -> None:
    sessions = Sessions(KEY)
    cookie = sessions.seal(sessions.new(api_key="k"))
    flipped = cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]
    assert sessions.open(flipped) is None
    assert Sessions(OTHER).open(cookie) is None


def test_an_expired_session_is_no_session() -> None:
    sessions = Sessions(KEY, ttl=-1)
    assert sessions.open(sessions.seal(sessions.new(api_key="k"))) is None
    fresh = Sessions(KEY).new()
    assert fresh.expires > time.time()


def test_csrf_tokens_belong_to_one_session() -> None:
    sessions = Sessions(KEY)
    one, two = sessions.new(), sessions.new()
    token = sessions.csrf_token(one)
    assert sessions.csrf_ok(one, token)
    assert not sessions.csrf_ok(two, token)
    assert not sessions.csrf_ok(one, "")
    assert not sessions.csrf_ok(one, None)
    assert not sessions.csrf_ok(None, token)
    assert not Sessions(OTHER).csrf_ok(one, token)


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        Sessions(b"short")
