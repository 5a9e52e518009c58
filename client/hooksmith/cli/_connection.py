"""Where the command finds its server and its API key."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hooksmith.cli._inputs import UsageError

TARGET_ENV = "HOOKSMITH_TARGET"
API_KEY_ENV = "HOOKSMITH_API_KEY"
DEFAULT_TARGET = "127.0.0.1:50051"
KEY_FILE = Path(".hooksmith") / "api-key"


@dataclass(frozen=True)
class Connection:
    target: str
    api_key: str


def find_key_file(start: Path) -> Path | None:
    """`.hooksmith/api-key` in `start` or the nearest directory above it that has one: the
    key the server of `make run` wrote when it first started in that checkout."""
    for directory in (start, *start.parents):
        candidate = directory / KEY_FILE
        if candidate.is_file():
            return candidate
    return None


def resolve(target: str | None, api_key: str | None, cwd: Path | None = None) -> Connection:
    """Target: `--target`, else HOOKSMITH_TARGET, else `make run`'s 127.0.0.1:50051.
    Key: `--api-key`, else HOOKSMITH_API_KEY, else `.hooksmith/api-key` of the checkout."""
    address = target or os.environ.get(TARGET_ENV) or DEFAULT_TARGET
    key = api_key or os.environ.get(API_KEY_ENV)
    if not key:
        found = find_key_file((cwd or Path.cwd()).resolve())
        if found is not None:
            try:
                key = found.read_text().strip()
            except OSError as e:
                raise UsageError(f"cannot read the API key in {found}: {e.strerror}") from None
            if not key:
                raise UsageError(f"{found} is empty; pass --api-key or set {API_KEY_ENV}")
    if not key:
        raise UsageError(
            f"no API key: pass --api-key, set {API_KEY_ENV}, or run inside a checkout "
            f"whose server wrote {KEY_FILE}"
        )
    return Connection(address, key)
