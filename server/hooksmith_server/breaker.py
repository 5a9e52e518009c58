"""The circuit breaker of each destination: when to pause deliveries, and for how long.

A destination (a receiver's host within a workspace) that fails `threshold` attempts in
a row (connection errors, timeouts, 408, 429, 5xx) is paused for a cool-down that
doubles on each trip in a row, up to `max_cooldown`. When the cool-down is over one
claim takes one message as a probe: its success closes the breaker, its failure pauses
the destination again. The state lives in PostgreSQL so every process shares it; this
module only decides, from the stored state and a batch of outcomes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from hooksmith_server import domain

MAX_COOLDOWN = timedelta(minutes=10)


@dataclass(frozen=True)
class Policy:
    """When a destination's breaker opens and how long it stays open."""

    threshold: int = 20
    """Consecutive failures that open the breaker; 0 turns the breaker off."""
    cooldown: timedelta = timedelta(seconds=30)
    """The first pause; each trip in a row doubles it."""
    max_cooldown: timedelta = MAX_COOLDOWN

    def pause(self, trips: int) -> timedelta:
        """The pause after `trips` trips in a row before this one."""
        pause: timedelta = self.cooldown * (2 ** min(trips, 32))
        return min(pause, self.max_cooldown)


@dataclass(frozen=True)
class State:
    """A destination's breaker as stored."""

    failures: int = 0
    """Attempts that failed in a row."""
    trips: int = 0
    """Times the breaker opened in a row, without a success between."""
    paused_until: datetime | None = None
    """Open until then; None while closed. Past it, the breaker is half-open."""
    probing: bool = False
    """A probe is in flight (half-open)."""
    last_error: str | None = None


@dataclass(frozen=True)
class Report:
    """What one batch of outcomes says about one destination, in the order they ended."""

    answered: bool
    """Some attempt of the batch succeeded."""
    failures: int
    """Failures after the last success (all of them if none succeeded)."""
    last_error: str | None


@dataclass(frozen=True)
class Change:
    """A breaker that opened or closed, for the log."""

    lane: domain.Lane
    opened: bool
    state: State


def reports(outcomes: Iterable[domain.Outcome]) -> dict[domain.Lane, Report]:
    """Each destination's report from a batch of outcomes (neutral ones left out)."""
    found: dict[domain.Lane, Report] = {}
    for outcome in outcomes:
        if outcome.receiver_ok is None:
            continue
        lane = outcome.claim.lane
        seen = found.get(lane, Report(answered=False, failures=0, last_error=None))
        if outcome.receiver_ok:
            found[lane] = Report(answered=True, failures=0, last_error=seen.last_error)
        else:
            found[lane] = replace(seen, failures=seen.failures + 1, last_error=outcome.error)
    return found


def apply(policy: Policy, state: State, report: Report, now: datetime) -> State:
    """The state after a batch's report."""
    last_error = report.last_error or state.last_error
    if report.answered:
        # The receiver answers again: closed, whatever it was.
        state = State(last_error=last_error)
    failures = state.failures + report.failures
    state = replace(state, failures=failures, last_error=last_error)
    if policy.threshold <= 0 or failures < policy.threshold:
        return state
    if state.paused_until is None or state.probing:
        # Closed and past the threshold, or a probe failed: pause (again, for longer).
        return State(
            failures=failures,
            trips=state.trips + 1,
            paused_until=now + policy.pause(state.trips),
            last_error=last_error,
        )
    # Already paused: attempts that were in flight when it opened end now.
    return state


def changes(
    before: Mapping[domain.Lane, State], after: Mapping[domain.Lane, State]
) -> list[Change]:
    """The breakers that opened or closed between two sets of states."""
    found = []
    for lane, new in after.items():
        old = before.get(lane, State())
        if new.paused_until is not None and new.trips > old.trips:
            found.append(Change(lane, opened=True, state=new))
        elif new.paused_until is None and old.paused_until is not None:
            found.append(Change(lane, opened=False, state=new))
    return found
