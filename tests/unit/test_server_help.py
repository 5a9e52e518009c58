"""`hooksmith-server --help` and each command's help: what it does and the variables it
reads, checked against what `Settings.from_env` really reads."""

from __future__ import annotations

import argparse
import functools
import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from hooksmith_server import cli
from hooksmith_server.config import Settings


class Recording(dict[str, str]):
    """An environment that notes every variable looked up in it."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return super().__contains__(key)

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("from_env must name the variables it reads, not scan them")


def variables_from_env() -> set[str]:
    env = Recording()
    Settings.from_env(env)
    return env.read


def run_help(*command: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSMITH_")}
    return subprocess.run(
        [sys.executable, "-m", "hooksmith_server", *command, "--help"],
        env=env | {"COLUMNS": "100"},
        capture_output=True,
        text=True,
        timeout=60,
    )


@functools.cache
def serve_help() -> str:
    result = run_help("serve")
    assert result.returncode == 0, result.stderr
    return result.stdout


def named(text: str) -> set[str]:
    return set(re.findall(r"\bHOOKSMITH_[A-Z_]+[A-Z]\b", text))


def environment_section(text: str) -> str:
    """The epilog that lists the variables a command reads."""
    _, found, section = text.partition("environment (")
    assert found, f"no environment section in:\n{text}"
    return section


def test_from_env_reads_every_variable_of_the_settings() -> None:
    read = variables_from_env()
    # A sanity check of the recording itself: a few variables everyone knows about.
    assert {"HOOKSMITH_LISTEN", "HOOKSMITH_DATABASE_URL", "HOOKSMITH_ADMIN_LISTEN"} <= read
    assert len(read) >= 25


def test_serve_help_names_every_variable_the_server_reads() -> None:
    missing = variables_from_env() - named(environment_section(serve_help()))
    assert not missing, f"`serve --help` does not mention {sorted(missing)}"
    assert "serve gRPC on HOOKSMITH_LISTEN" in serve_help()


def test_every_variable_in_the_help_is_one_the_server_reads() -> None:
    unknown = named(serve_help()) - variables_from_env()
    assert not unknown, f"`serve --help` mentions variables nothing reads: {sorted(unknown)}"


# What each command does (a phrase of its description) and variables it must name, or
# must not (those of a part it does not run).
COMMANDS: list[tuple[tuple[str, ...], str, set[str], set[str]]] = [
    (
        ("worker",),
        "serving no gRPC",
        {"WORKERS", "DATABASE_URL", "SECRET_KEY", "EGRESS_ALLOW", "ADMIN_LISTEN"},
        {"LISTEN", "TLS_CERT", "MAX_CONCURRENT_RPCS"},
    ),
    (("migrate",), "Apply the database migrations", {"DATABASE_URL", "DATA_DIR"}, {"WORKERS"}),
    (
        ("keys", "create"),
        "Create an API key",
        {"DATABASE_URL", "DATA_DIR"},
        {"WORKERS", "LISTEN"},
    ),
    (("keys", "list"), "List the API keys", {"DATABASE_URL", "DATA_DIR"}, {"WORKERS"}),
    (("keys", "revoke"), "Revoke an API key", {"DATABASE_URL", "DATA_DIR"}, {"WORKERS"}),
    (
        ("secrets", "rotate-key"),
        "Seal every stored secret",
        {"DATABASE_URL", "SECRET_KEY", "SECRET_KEYS_OLD"},
        {"WORKERS", "LISTEN"},
    ),
    (
        ("workspaces", "set-retention"),
        "Keep a workspace's finished messages",
        {"DATABASE_URL", "HISTORY_RETENTION"},
        {"WORKERS", "LISTEN"},
    ),
]


@pytest.mark.parametrize(
    ("command", "says", "reads", "ignores"), COMMANDS, ids=[" ".join(c[0]) for c in COMMANDS]
)
def test_each_command_help_says_what_it_does_and_names_its_variables(
    command: tuple[str, ...], says: str, reads: set[str], ignores: set[str]
) -> None:
    result = run_help(*command)

    assert result.returncode == 0, result.stderr
    assert says in " ".join(result.stdout.split())
    listed = named(environment_section(result.stdout))
    expected = {f"HOOKSMITH_{name}" for name in reads}
    assert expected <= listed, f"missing {sorted(expected - listed)}"
    assert not listed & {f"HOOKSMITH_{name}" for name in ignores}
    assert listed <= variables_from_env()
    assert "HOOKSMITH_LOG_LEVEL" in listed, "every command logs"


def test_defaults_shown_are_the_settings_defaults() -> None:
    text = " ".join(serve_help().split())
    assert "(default: 512)" in text  # HOOKSMITH_WORKERS
    assert "(default: 127.0.0.1:50051)" in text
    assert "(default: 30d)" in text  # HOOKSMITH_HISTORY_RETENTION
    assert "(default: 4MiB)" in text


def test_top_level_help_lists_the_commands_and_points_to_their_help() -> None:
    result = run_help()

    assert result.returncode == 0, result.stderr
    for command in ("serve", "worker", "migrate", "keys", "workspaces", "secrets"):
        assert re.search(rf"^\s+{command}\b", result.stdout, re.MULTILINE), command
    assert "COMMAND --help" in result.stdout
    assert "HOOKSMITH_" in result.stdout


@pytest.mark.parametrize("group", ["keys", "workspaces", "secrets"])
def test_each_command_group_help_exits_0(group: str) -> None:
    result = run_help(group)
    assert result.returncode == 0, result.stderr
    assert "COMMAND" in result.stdout


def leaf_commands(
    node: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    groups = [a for a in node._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        yield path, node
    for group in groups:
        for name, child in group.choices.items():
            yield from leaf_commands(child, (*path, name))


def test_every_command_of_the_parser_lists_its_variables() -> None:
    leaves = dict(leaf_commands(cli._parser()))
    # Every command a test above runs, and no command without its variables.
    assert {c[0] for c in COMMANDS} | {("serve",)} == leaves.keys()
    for path, node in leaves.items():
        assert node.epilog is not None, " ".join(path)
        assert node.epilog.startswith("environment ("), " ".join(path)
        assert node.description, f"{' '.join(path)} does not say what it does"
