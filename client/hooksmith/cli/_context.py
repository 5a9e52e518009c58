"""What every command gets: the output streams, `--json`, and the client (made on first use)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from google.protobuf import message

from hooksmith._sync import SyncClient
from hooksmith.cli._output import as_dict, dumps


@dataclass
class Context:
    out: TextIO
    err: TextIO
    json: bool
    connect: Callable[[], SyncClient]
    _client: SyncClient | None = field(default=None, init=False)

    @property
    def client(self) -> SyncClient:
        if self._client is None:
            self._client = self.connect()
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def print(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def emit(self, value: message.Message) -> None:
        """One message in its JSON form (for `--json`)."""
        self.print(dumps(as_dict(value)))

    def note(self, text: str) -> None:
        """A line for people on standard error (hints, progress), kept out of the output."""
        self.err.write(text + "\n")
        self.err.flush()
