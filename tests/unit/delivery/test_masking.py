"""Masking credentials in history: never more than a short tail is kept."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hooksmith_server import domain
from hooksmith_server.delivery import masking


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("", ""),
        ("a", "****"),
        ("12345678", "****"),
        ("123456789", "****89"),
        ("12345678901", "****01"),
        ("123456789012", "****012"),
        ("123456789012345", "****345"),
        ("1234567890123456", "****3456"),
        ("Bearer sk_live_0123456789abcdef", "****cdef"),
    ],
)
def test_mask_value_keeps_a_tail_of_at_most_a_quarter(value: str, masked: str) -> None:
    assert masking.mask_value(value) == masked


@given(st.text(min_size=1))
def test_mask_value_never_reveals_more_than_a_quarter_or_four_characters(value: str) -> None:
    masked = masking.mask_value(value)
    assert masked.startswith("****")
    tail = masked.removeprefix("****")
    assert value.endswith(tail)
    assert len(tail) <= min(4, len(value) // 4)


def test_mask_headers_masks_credentials_whatever_their_case() -> None:
    headers = (
        domain.Header("AUTHORIZATION", "Bearer abcdefghijklmnop"),
        domain.Header("proxy-authorization", "Basic dXNlcjpwYXNzd29yZA=="),
        domain.Header("Cookie", "session=0123456789abcdef"),
        domain.Header("set-cookie", "id=short"),
        domain.Header("X-Api-Key", "key-0123456789abcdef", secret=True),
        domain.Header("Content-Type", "application/json"),
        domain.Header("X-Trace", "0123456789abcdef0123"),
    )
    assert masking.mask_headers(headers) == (
        domain.Header("AUTHORIZATION", "Bearer ****mnop"),
        domain.Header("proxy-authorization", "Basic ****"),
        domain.Header("Cookie", "****cdef"),
        domain.Header("set-cookie", "****"),
        domain.Header("X-Api-Key", "****cdef", secret=True),
        domain.Header("Content-Type", "application/json"),
        domain.Header("X-Trace", "0123456789abcdef0123"),
    )


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("Basic dXNlcjpwYXNzd29yZA==", "Basic ****"),
        ("basic YTpi", "basic ****"),
        ("Bearer sk_live_0123456789abcdef", "Bearer ****cdef"),
        ("Bearer short", "Bearer ****"),
        ("Digest username=x", "****me=x"),
        ("sk_live_0123456789abcdef", "****cdef"),
    ],
)
def test_an_authorization_keeps_its_scheme_and_basic_keeps_no_tail(value: str, masked: str) -> None:
    # The end of a Basic value's base64 encodes the end of the password.
    assert masking.mask_header_value(value) == masked
