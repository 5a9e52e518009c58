"""What the console's pages show, computed from domain values."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from hooksmith_server import domain, errors
from hooksmith_server.console import views

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_activity_stacks_each_hour_and_totals_the_day() -> None:
    hook, other = uuid.uuid4(), uuid.uuid4()
    S, F, P = (
        domain.MessageStatus.SUCCEEDED,
        domain.MessageStatus.FAILED,
        domain.MessageStatus.PENDING,
    )
    counts = [
        domain.HourlyCount(hook, 0, S, 3),
        domain.HourlyCount(hook, 0, F, 1),
        domain.HourlyCount(hook, 23, P, 2),
        domain.HourlyCount(hook, 24, S, 99),  # outside the chart
        domain.HourlyCount(other, 5, F, 4),
    ]
    charts = views.activity(counts)
    day = charts[hook]
    assert (day.totals["succeeded"], day.totals["failed"], day.totals["pending"]) == (3, 1, 2)
    by_kind = {bar.kind: bar for bar in day.bars if bar.x == 23 * 10}
    # The newest hour is the rightmost bar; the tallest hour fills the chart.
    assert by_kind["succeeded"].height + by_kind["failed"].height == pytest.approx(40)
    assert by_kind["failed"].y < by_kind["succeeded"].y
    oldest = [bar for bar in day.bars if bar.x == 0]
    assert [bar.kind for bar in oldest] == ["pending"]
    assert charts[other].totals["failed"] == 4


def test_health_says_paused_until_when_and_why() -> None:
    paused = domain.DestinationHealth("h", 20, NOW + timedelta(minutes=5), "HTTP 503")
    shown = views.health(paused, NOW)
    assert shown.state == "paused"
    assert shown.text == "paused until 2026-05-01 12:05:00 UTC"
    assert shown.last_error == "HTTP 503"
    assert views.health(domain.DestinationHealth("h"), NOW).state == "healthy"
    assert views.health(domain.DestinationHealth("h", 1, None, "x"), NOW).text == (
        "1 failed attempt in a row"
    )


def test_pretty_indents_json_and_leaves_other_bodies_alone() -> None:
    assert views.pretty('{"a":[1,2]}') == '{\n  "a": [\n    1,\n    2\n  ]\n}'
    assert views.pretty("<b>plain</b>") == "<b>plain</b>"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1]", "tags: must be a JSON object"),
        ("{", "tags: is not valid JSON"),
        ('{"a": NaN}', "tags: is not valid JSON: NaN is not a JSON number"),
        ('{"a": "x\\u0000"}', "tags.a: must not contain NUL characters"),
    ],
)
def test_json_fields_name_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(errors.InvalidArgument) as e:
        views.json_object(text, "tags")
    assert e.value.message.startswith(message)


def test_filters_are_read_or_refused_by_name() -> None:
    assert views.json_object("  ", "data") == {}
    assert views.label(" journey = welcome ") == {"journey": "welcome"}
    assert views.label("") == {}
    with pytest.raises(errors.InvalidArgument, match="label: 'journey' is not key=value"):
        views.label("journey")
    assert views.moment("2026-05-01T12:30", "from") == datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    assert views.moment("", "from") is None
    with pytest.raises(errors.InvalidArgument, match="to: 'soon' is not a date and time"):
        views.moment("soon", "to")
