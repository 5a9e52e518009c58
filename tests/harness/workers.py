"""`hooksmith-server worker` processes on a test's database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.harness.server import SECRET_KEY_BASE64


def worker(database_url: str, log: Path, **settings: str) -> subprocess.Popen[bytes]:
    """A worker process, its output in `log`; `settings` are HOOKSMITH_* values by name."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSMITH_")}
    env |= {
        "HOOKSMITH_DATABASE_URL": database_url,
        "HOOKSMITH_EGRESS_ALLOW": "127.0.0.0/8",
        "HOOKSMITH_POLL_INTERVAL": "100ms",
        "HOOKSMITH_LOG_LEVEL": "WARNING",
        "HOOKSMITH_SECRET_KEY": SECRET_KEY_BASE64,
    }
    env |= {f"HOOKSMITH_{name.upper()}": value for name, value in settings.items()}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hooksmith_server", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """Terminate the processes and wait for them."""
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=20)
