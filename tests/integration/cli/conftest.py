"""Running the `hooksmith` command against a real server: in process through its `main`
(from a worker thread, as the server runs on the test's event loop) or as the installed
script in a subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hooksmith.cli import main
from tests.harness.server import Api, Running

SCRIPT = Path(sys.executable).parent / "hooksmith"


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, self.err
        return json.loads(self.out)


def run_in_process(argv: list[str], stdin: str | None) -> Result:
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = io.StringIO(stdin or "")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as e:  # argparse refusing the options
                code = e.code if isinstance(e.code, int) else 1
    finally:
        sys.stdin = saved
    return Result(code, out.getvalue(), err.getvalue())


class Cli:
    """`await cli("webhooks", "list")`: the command with this server and key."""

    def __init__(self, target: str, key: str) -> None:
        self.target = target
        self.key = key

    async def __call__(self, *argv: str, stdin: str | None = None) -> Result:
        full = ["--target", self.target, "--api-key", self.key, *argv]
        return await asyncio.to_thread(run_in_process, full, stdin)

    def env(self) -> dict[str, str]:
        """The environment for the installed script: target and key, nothing else of ours."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSMITH_")}
        return env | {"HOOKSMITH_TARGET": self.target, "HOOKSMITH_API_KEY": self.key}


@pytest.fixture
async def cli(server: Running, api: Api) -> Cli:
    return Cli(server.address, api.key)
