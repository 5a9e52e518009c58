"""The README's tour runs as written and prints what the README says."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from tests.harness.server import Api, Running

README = Path(__file__).parents[2] / "README.md"


def tour() -> tuple[str, str]:
    """The first Python block of the README and the output block after it."""
    text = README.read_text()
    code = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert code, "the README has no python block"
    output = re.search(r"It prints:\n\n```\n(.*?)```", text[code.end() :], re.DOTALL)
    assert output, "the README shows no output after the tour"
    return code.group(1), output.group(1)


async def test_readme_tour_prints_what_the_readme_shows(server: Running, api: Api) -> None:
    code, expected = tour()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        env={**os.environ, "HOOKSMITH_ADDRESS": server.address, "HOOKSMITH_API_KEY": api.key},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert out.decode() == expected
