"""docs/cli.md documents every command and option of `hooksmith` that its parser has."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

from hooksmith.cli._main import parser

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def commands(
    node: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, node
    for action in node._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from commands(child, (*path, name))


def test_every_command_has_its_heading() -> None:
    text = DOC.read_text()
    headings = [line for line in text.splitlines() if line.startswith("### ")]
    for path, node in commands(parser()):
        if not path or node.get_default("handler") is None:
            continue
        name = " ".join(path)
        assert any(h.startswith(f"### `{name}") for h in headings), f"no heading for {name}"


def mentioned(option: str, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text) is not None


def test_every_option_is_documented() -> None:
    text = DOC.read_text()
    for path, node in commands(parser()):
        for action in node._actions:
            names = [o for o in action.option_strings if o not in ("-h", "--help")]
            if names:
                where = " ".join(path) or "hooksmith"
                assert any(mentioned(o, text) for o in names), f"{where}: {names}"


def test_the_check_finds_an_undocumented_option() -> None:
    assert mentioned("--client-cert", "| `--client-cert PEM` |")
    assert not mentioned("--client-cert", "| `--client-certificate PEM` |")
