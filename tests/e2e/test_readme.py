"""The README's tour runs as written, with the Python it names, and prints what the README
says."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.server import Api, Running

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"


def tour_section() -> str:
    text = README.read_text()
    start = text.index("## A tour\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def tour() -> tuple[str, str]:
    """The tour's Python block and the output block after it."""
    text = tour_section()
    code = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert code, "the tour has no python block"
    output = re.search(r"It prints:\n\n```\n(.*?)```", text[code.end() :], re.DOTALL)
    assert output, "the README shows no output after the tour"
    return code.group(1), output.group(1)


def tour_command() -> list[str]:
    """How the README says to run the tour: `<python> tour.py`."""
    found = re.search(r"`(\S*python\S*) (tour\.py)`", tour_section())
    assert found, "the tour does not say which Python runs it"
    return [found.group(1), found.group(2)]


def test_the_tour_says_to_run_it_with_the_python_make_run_creates() -> None:
    python, script = tour_command()
    assert python == ".venv/bin/python"
    assert script == "tour.py"
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^VENV \?= \.venv$", makefile, re.MULTILINE)
    assert re.search(r"^run: \$\(BIN\)/\.installed", makefile, re.MULTILINE)
    # What `make run` installs in that environment includes the client the tour imports.
    assert re.search(r"pip install .*-e \./client", makefile)


def test_the_tour_uses_the_typed_client_not_raw_stubs() -> None:
    code, _ = tour()
    assert "hooksmith.SyncClient(" in code
    for raw in ("hooksmith.v1", "import grpc", "metadata=", "struct_pb2"):
        assert raw not in code, f"the tour still uses {raw}"


def tour_python() -> str:
    """The checkout's `.venv/bin/python` the README names, when the tests run in it."""
    checkout = ROOT / ".venv" / "bin" / "python"
    if checkout.exists() and Path(sys.prefix).resolve() == (ROOT / ".venv").resolve():
        return str(checkout)
    return sys.executable


async def test_readme_tour_prints_what_the_readme_shows(
    server: Running, api: Api, tmp_path: Path
) -> None:
    code, expected = tour()
    _, script = tour_command()
    # As the README has it: saved as tour.py where `make run` wrote .hooksmith/api-key.
    (tmp_path / script).write_text(code)
    (tmp_path / ".hooksmith").mkdir()
    (tmp_path / ".hooksmith" / "api-key").write_text(api.key + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSMITH_")}
    process = await asyncio.create_subprocess_exec(
        tour_python(),
        script,
        cwd=tmp_path,
        env=env | {"HOOKSMITH_TARGET": server.address},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert out.decode() == expected

    # It really made the webhooks it printed, through the key it read from the file.
    listed = await api.List(pb.ListRequest())
    assert sorted(w.spec.name for w in listed.webhooks) == ["Issue coupon", "SMS provider"]
