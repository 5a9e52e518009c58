"""Liquid-style filters, including those that replace Jinja built-ins of the same name."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from hooksmith_server import domain, errors

from .support import compile_spec, render, render_text, violations


@pytest.mark.parametrize("value", [None, False, "", [], {}])
def test_default_replaces_none_false_and_empty_values(value: object) -> None:
    assert render_text("{{ tags.v | default('friend') }}", tags={"v": value}) == "friend"


def test_default_replaces_undefined_values() -> None:
    assert render_text("{{ tags.name | default('friend') }}") == "friend"


@pytest.mark.parametrize(("value", "shown"), [(0.0, "0"), ("x", "x"), (True, "true"), (" ", " ")])
def test_default_keeps_present_values(value: object, shown: str) -> None:
    assert render_text("{{ tags.v | default('friend') }}", tags={"v": value}) == shown


def test_default_can_allow_false() -> None:
    body = render_text("{{ tags.v | default('d', allow_false=true) }}", tags={"v": False})

    assert body == "false"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 'a long biography' | truncate(8) }}", "a lon..."),
        ("{{ 'exactly8' | truncate(8) }}", "exactly8"),
        ("{{ 'short' | truncate(8) }}", "short"),
        ("{{ 'a long biography' | truncate(8, '…') }}", "a long …"),
        ("{{ 'a long biography' | truncate(8, '') }}", "a long b"),
        ("{{ 'a long biography' | truncate(2) }}", ".."),
        ("{{ tags.n | truncate(5) }}", "12..."),
    ],
)
def test_truncate_counts_the_ellipsis_in_the_length(template: str, expected: str) -> None:
    assert render_text(template, tags={"n": 123456.0}) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 'one two three four' | truncatewords(2) }}", "one two..."),
        ("{{ 'one two three' | truncatewords(3) }}", "one two three"),
        ("{{ 'one  two   three' | truncatewords(2, ' (more)') }}", "one two (more)"),
        ("{{ 'one two' | truncatewords(0) }}", "one..."),
    ],
)
def test_truncatewords_keeps_the_first_words(template: str, expected: str) -> None:
    assert render_text(template) == expected


def test_replace_replaces_every_occurrence_and_replace_first_only_one() -> None:
    body = render_text("{{ 'a-b-c' | replace('-', '+') }} {{ 'a-b-c' | replace_first('-', '+') }}")

    assert body == "a+b+c a+b-c"


def test_replace_with_an_empty_search_changes_nothing() -> None:
    assert render_text("{{ 'abc' | replace('', 'x') }}") == "abc"


def test_replace_that_would_grow_past_the_output_limit_is_an_error() -> None:
    webhook = compile_spec(
        body="{{ tags.s | replace('a', tags.big) }}", body_format=domain.BodyFormat.TEXT
    )

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook, tags={"s": "a" * 2000, "big": "b" * 1000})

    assert "replace would produce 2,000,000 characters" in violations(error)["body"]


def test_case_filters() -> None:
    body = render_text(
        "{{ v | upcase }}|{{ v | downcase }}|{{ v | capitalize }}", data={"v": "hELLO wORLD"}
    )

    assert body == "HELLO WORLD|hello world|Hello world"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1234567.0, "1,234,567"),
        (1234567.5, "1,234,567.5"),
        (-9876543.0, "-9,876,543"),
        (999.0, "999"),
        ("1234567", "1,234,567"),
        ("1234567.50", "1,234,567.50"),
        (1e20, "100,000,000,000,000,000,000"),
        ("n/a", "n/a"),
    ],
)
def test_number_with_delimiter(value: object, expected: str) -> None:
    assert render_text("{{ tags.v | number_with_delimiter }}", tags={"v": value}) == expected


def test_date_formats_iso_strings_in_a_time_zone() -> None:
    body = render_text(
        "{{ tags.at | date('%Y-%m-%d %H:%M', tz='Asia/Seoul') }}",
        tags={"at": "2024-03-01T23:30:00Z"},
    )

    assert body == "2024-03-02 08:30"


def test_date_treats_naive_inputs_as_utc() -> None:
    body = render_text(
        "{{ tags.at | date('%H:%M %z') }}|{{ tags.at | date('%H:%M', tz='America/New_York') }}",
        tags={"at": "2024-01-15T12:00:00"},
    )

    assert body == "12:00 +0000|07:00"


def test_date_keeps_the_offset_of_aware_inputs_without_a_zone() -> None:
    body = render_text("{{ tags.at | date('%H:%M %z') }}", tags={"at": "2024-01-15T12:00:00+09:00"})

    assert body == "12:00 +0900"


def test_date_reads_epoch_seconds_as_numbers_and_numeric_strings() -> None:
    body = render_text(
        "{{ tags.n | date('%Y-%m-%dT%H:%M:%S') }}|{{ tags.s | date('%Y') }}",
        tags={"n": 1700000000.0, "s": "0"},
    )

    assert body == "2023-11-14T22:13:20|1970"


def test_date_reads_datetime_objects_from_data() -> None:
    moment = datetime(2030, 5, 6, 7, 8, tzinfo=UTC)

    assert render_text("{{ at | date('%d/%m/%Y', tz='Europe/Paris') }}", data={"at": moment}) == (
        "06/05/2030"
    )


def test_date_now_is_the_current_time() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    body = render_text("{{ 'now' | date('%Y-%m-%dT%H:%M:%S%z') }}")
    after = datetime.now(UTC)

    assert before <= datetime.strptime(body, "%Y-%m-%dT%H:%M:%S%z") <= after


def test_date_now_is_read_at_render_time_not_when_compiled() -> None:
    webhook = compile_spec(body="{{ 'now' | date('%s.%f') }}", body_format=domain.BodyFormat.TEXT)

    first = render(webhook).request.body
    time.sleep(0.002)
    second = render(webhook).request.body

    assert float(second) > float(first)


def test_date_of_a_missing_value_is_empty() -> None:
    assert render_text("[{{ tags.birthday | date('%Y') }}]") == "[]"


def test_date_with_an_unknown_zone_is_an_error_naming_the_field() -> None:
    webhook = compile_spec(headers={"X-When": "{{ tags.at | date('%H', tz='Mars/Olympus_Mons') }}"})

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook, tags={"at": "2024-01-01T00:00:00"})

    assert violations(error) == {
        "headers[0].value": "rendering failed at line 1: "
        "date: unknown time zone 'Mars/Olympus_Mons'"
    }


def test_date_of_an_unreadable_string_is_an_error() -> None:
    webhook = compile_spec(body='{"d": "{{ tags.at | date(\'%Y\') }}"}')

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook, tags={"at": "next tuesday"})

    assert violations(error) == {
        "body": "rendering failed at line 1: date: cannot read 'next tuesday' as a date; "
        "expected ISO-8601, epoch seconds or 'now'"
    }


@pytest.mark.parametrize(
    "template",
    ["{{ x | nosuchfilter }}", "{% if x is defined %}{{ x | nosuchfilter }}{% endif %}"],
)
def test_unknown_filter_is_refused_when_compiled(template: str) -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(headers={"X-A": template})

    assert violations(error) == {
        "headers[0].value": "template syntax error at line 1: no filter named 'nosuchfilter'"
    }


def test_unknown_test_is_refused_when_compiled() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(body="{{ x is nosuchtest }}", body_format=domain.BodyFormat.TEXT)

    assert violations(error) == {
        "body": "template syntax error at line 1: no test named 'nosuchtest'"
    }


def test_jinja_built_in_filters_still_work() -> None:
    body = render_text(
        "{{ items | join(', ') }}|{{ 'x' | upper }}|{{ items | length }}",
        data={"items": ["a", "b"]},
    )

    assert body == "a, b|X|2"
