"""The breaker's decisions, from stored state and a batch of outcomes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hooksmith_server import breaker, domain

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
POLICY = breaker.Policy(threshold=3, cooldown=timedelta(seconds=30))
LANE = domain.Lane(uuid.UUID(int=1), "sms.example")


def outcome(ok: bool | None, error: str | None = None) -> domain.Outcome:
    claim = domain.Claim(
        LANE.workspace_id,
        uuid.uuid4(),
        uuid.UUID(int=2),
        1,
        domain.MessageKind.LIVE,
        domain.Recipient("u"),
        {},
        LANE.destination,
        1,
        0,
        False,
    )
    return domain.Outcome(
        claim, NOW, timedelta(0), None, None, error, domain.MessageStatus.PENDING, 1, NOW, ok
    )


def test_reports_count_the_failures_after_the_last_success_in_order() -> None:
    found = breaker.reports(
        [
            outcome(False, "a"),
            outcome(True),
            outcome(None),
            outcome(False, "b"),
            outcome(False, "c"),
        ]
    )
    assert found == {LANE: breaker.Report(answered=True, failures=2, last_error="c")}
    assert breaker.reports([outcome(None), outcome(None)]) == {}


def test_the_threshold_opens_the_breaker_for_the_cool_down() -> None:
    state = breaker.apply(POLICY, breaker.State(), breaker.Report(False, 2, "503"), NOW)
    assert state == breaker.State(failures=2, last_error="503")
    state = breaker.apply(POLICY, state, breaker.Report(False, 1, "timed out"), NOW)
    assert state.paused_until == NOW + timedelta(seconds=30)
    assert (state.trips, state.failures, state.last_error) == (1, 3, "timed out")


def test_failures_while_paused_do_not_extend_the_pause() -> None:
    paused = breaker.State(failures=3, trips=1, paused_until=NOW + timedelta(seconds=30))
    later = breaker.apply(POLICY, paused, breaker.Report(False, 5, "503"), NOW)
    assert later.paused_until == paused.paused_until
    assert later.trips == 1


def test_a_failed_probe_doubles_the_pause_up_to_ten_minutes() -> None:
    state = breaker.State(failures=3, trips=1, paused_until=NOW, probing=True)
    state = breaker.apply(POLICY, state, breaker.Report(False, 1, "503"), NOW)
    assert state.paused_until == NOW + timedelta(seconds=60)
    assert not state.probing
    many = breaker.State(failures=3, trips=9, paused_until=NOW, probing=True)
    assert breaker.apply(POLICY, many, breaker.Report(False, 1, None), NOW).paused_until == (
        NOW + timedelta(minutes=10)
    )


def test_a_success_closes_it_and_forgets_the_trips() -> None:
    state = breaker.State(failures=7, trips=4, paused_until=NOW, probing=True, last_error="x")
    closed = breaker.apply(POLICY, state, breaker.Report(True, 0, None), NOW)
    assert closed == breaker.State(last_error="x")
    assert breaker.changes({LANE: state}, {LANE: closed}) == [
        breaker.Change(LANE, opened=False, state=closed)
    ]


def test_threshold_zero_never_opens() -> None:
    off = breaker.Policy(threshold=0)
    state = breaker.apply(off, breaker.State(), breaker.Report(False, 10_000, "503"), NOW)
    assert state.paused_until is None
