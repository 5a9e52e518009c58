"""The `hooksmith` command's own rules: how a CSV run is cut into keyed batches, spec
durations, NAME=VALUE options and the progress bar."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from hooksmith.cli._inputs import UsageError, assignments, load_spec
from hooksmith.cli._progress import Progress
from hooksmith.cli._recipients import batches, default_run_id, read_rows

CSV = "user_id,tags.city,data.text\nu-1,Seoul,a\nu-2,Busan,b\nu-3,Seoul,a\n\nu-4,Jeju,a\n"


def test_each_user_keeps_its_key_however_the_rows_are_batched(tmp_path: Path) -> None:
    (tmp_path / "u.csv").write_text(CSV)
    rows = read_rows(str(tmp_path / "u.csv"))

    keys = {
        size: {row.user_id: b.key for b in batches(rows, {}, "run-1", size) for row in b.rows}
        for size in (1, 2, 1000)
    }

    assert keys[1] == keys[2] == keys[1000]
    assert keys[1]["u-1"] == keys[1]["u-3"] == keys[1]["u-4"] != keys[1]["u-2"]
    assert all(key.startswith("run-1:") for key in keys[1].values())
    assert [r.line for r in rows] == [2, 3, 4, 6]
    assert rows[0].recipient() == {"user_id": "u-1", "tags": {"city": "Seoul"}}


def test_batches_hold_rows_of_one_data_up_to_the_size(tmp_path: Path) -> None:
    (tmp_path / "u.csv").write_text(CSV)
    rows = read_rows(str(tmp_path / "u.csv"))

    plan = batches(rows, {"text": "default", "extra": "x"}, "r", 2)

    assert [[r.user_id for r in b.rows] for b in plan] == [["u-1", "u-3"], ["u-4"], ["u-2"]]
    assert plan[0].data == {"text": "a", "extra": "x"}


def test_the_default_run_follows_webhook_rows_and_data(tmp_path: Path) -> None:
    (tmp_path / "u.csv").write_text(CSV)
    rows = read_rows(str(tmp_path / "u.csv"))

    run = default_run_id("w1", rows, {})

    assert run == default_run_id("w1", read_rows(str(tmp_path / "u.csv")), {})
    assert run != default_run_id("w2", rows, {})
    assert run != default_run_id("w1", rows, {"text": "other"})
    assert run != default_run_id("w1", rows[:3], {})


def test_spec_durations_take_units_and_seconds(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        "name: n\nurl: https://x.example.com\n"
        "policy: {timeout: 1.5, retry_schedule: [90s, 5m, 2h, 1d]}\n"
    )

    spec = load_spec(str(tmp_path / "s.yaml"))

    assert spec.policy.timeout.ToMilliseconds() == 1500
    assert [d.seconds for d in spec.policy.retry_schedule] == [90, 300, 7200, 86400]


def test_assignments_nest_and_refuse_what_is_not_a_pair() -> None:
    assert assignments(["a.b=1", "a.c=x=y", "d="], "--tag") == {
        "a": {"b": "1", "c": "x=y"},
        "d": "",
    }
    with pytest.raises(UsageError, match="--tag 'a': expected NAME=VALUE"):
        assignments(["a"], "--tag")
    with pytest.raises(UsageError, match="goes inside 'a', which is a value"):
        assignments(["a=1", "a.b=2"], "--tag")


def test_progress_writes_a_line_per_step_off_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(4, stream, "sending", in_place=False)

    progress.advance(1)
    progress.advance(3)

    assert stream.getvalue().splitlines() == [
        "sending [########----------------------] 1/4  25%",
        "sending [##############################] 4/4 100%",
    ]
