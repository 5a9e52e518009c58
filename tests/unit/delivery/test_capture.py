"""Capture rules: RFC 6901 pointers, what a value becomes, and what is left out."""

from __future__ import annotations

import json

import pytest

from hooksmith_server import domain
from hooksmith_server.delivery import capture

DOCUMENT = {
    "a/b": 1,
    "m~n": 2,
    "": 3,
    "~1": 4,
    "list": ["zero", {"k": None}],
    "n": 1.5,
    "big": 10**30,
}


@pytest.mark.parametrize(
    ("pointer", "found", "value"),
    [
        ("/a~1b", True, 1),
        ("/m~0n", True, 2),
        ("/", True, 3),
        ("/~01", True, 4),
        ("/list/0", True, "zero"),
        ("/list/1/k", True, None),
        ("/list/01", False, None),
        ("/list/-", False, None),
        ("/list/2", False, None),
        ("/list/x", False, None),
        ("/n/deeper", False, None),
        ("/missing", False, None),
    ],
)
def test_pointers_resolve_as_rfc_6901_says(pointer: str, found: bool, value: object) -> None:
    assert capture.resolve(DOCUMENT, pointer) == (found, value)


def response(body: str, status: int = 200, truncated: bool = False) -> domain.HttpResponse:
    return domain.HttpResponse(status, (), body, truncated)


def test_values_become_strings_or_compact_json() -> None:
    captures = [domain.Capture(name, f"/{name}") for name in ("s", "i", "f", "b", "z", "o", "big")]
    body = json.dumps(
        {"s": "x y", "i": 7, "f": 1.5, "b": False, "z": None, "o": {"a": [1, "é"]}, "big": 10**30}
    )

    assert capture.extract(captures, response(body)) == {
        "s": "x y",
        "i": "7",
        "f": "1.5",
        "b": "false",
        "z": "null",
        "o": '{"a":[1,"é"]}',
        "big": str(10**30),
    }


def test_nothing_is_captured_from_a_cut_a_failed_or_a_non_json_body() -> None:
    captures = [domain.Capture("c", "/c")]
    assert capture.extract(captures, response('{"c": 1}', truncated=True)) is None
    assert capture.extract(captures, response('{"c": 1}', status=302)) is None
    assert capture.extract(captures, response("c=1")) is None
    assert capture.extract(captures, response('{"c": Infinity}')) is None
    assert capture.extract(captures, response("[" * 100_000)) is None
    assert capture.extract(captures, response('{"d": 1}')) is None
    assert capture.extract([], response('{"c": 1}')) is None


@pytest.mark.parametrize(
    ("name", "pointer", "field"),
    [
        ("ok", "/x", None),
        ("a_1", "/x/~0/~1", None),
        ("_a", "/x", "capture[0].name"),
        ("", "/x", "capture[0].name"),
        ("ok", "x", "capture[0].pointer"),
        ("ok", "/~", "capture[0].pointer"),
        ("ok", "/~2", "capture[0].pointer"),
        ("ok", "/" + "x" * 512, "capture[0].pointer"),
    ],
)
def test_violations_name_the_field(name: str, pointer: str, field: str | None) -> None:
    found = capture.violations([domain.Capture(name, pointer)])
    assert [v.field for v in found] == ([field] if field else [])
