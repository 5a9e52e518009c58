"""Every example in the tables of docs/templates.md renders exactly as the doc says."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.unit.rendering.support import render_text

DOC = Path(__file__).resolve().parents[3] / "docs" / "templates.md"
CELL = re.compile(r"(?<!\\)\|")
CODE = re.compile(r"^`(.*)`$")


def values() -> dict[str, object]:
    """The values the doc's examples are rendered with: its one JSON block."""
    (block,) = re.findall(r"^```json\n(.*?)^```$", DOC.read_text(), re.MULTILINE | re.DOTALL)
    loaded: dict[str, object] = json.loads(block)
    return loaded


def examples() -> list[tuple[str, str]]:
    """(template, rendered) from every table row whose last two cells are code."""
    found = []
    for line in DOC.read_text().splitlines():
        if not line.startswith("|"):
            continue
        cells = [cell.strip().replace("\\|", "|") for cell in CELL.split(line)[1:-1]]
        if len(cells) < 3:
            continue
        template, rendered = (CODE.match(cell) for cell in cells[-2:])
        if template and rendered and "{" in template.group(1):
            found.append((template.group(1), rendered.group(1)))
    return found


def test_the_doc_has_an_example_of_every_liquid_filter() -> None:
    from hooksmith_server.rendering.jinja.filters import FILTERS

    used = {name for template, _ in examples() for name in re.findall(r"\|\s*(\w+)", template)}
    assert set(FILTERS) <= used, set(FILTERS) - used


@pytest.mark.parametrize(("template", "rendered"), examples())
def test_the_example_renders_as_documented(template: str, rendered: str) -> None:
    given = values()
    out = render_text(
        template,
        user_id=str(given["userId"]),
        tags=given["tags"],  # type: ignore[arg-type]
        entry_event=given["entry_event"],  # type: ignore[arg-type]
        data=given["data"],  # type: ignore[arg-type]
    )
    assert out == rendered
