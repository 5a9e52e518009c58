"""A progress bar on standard error."""

from __future__ import annotations

import time
from typing import TextIO

WIDTH = 30
REDRAW_EVERY = 0.1  # seconds, on a terminal


class Progress:
    """`done/total` as a bar. On a terminal it redraws one line in place; elsewhere
    (`--progress` into a file or a pipe) it writes one line per step."""

    def __init__(self, total: int, stream: TextIO, label: str, *, in_place: bool) -> None:
        self.total = total
        self.done = 0
        self._stream = stream
        self._label = label
        self._in_place = in_place
        self._drawn = 0.0

    def line(self) -> str:
        share = self.done / self.total if self.total else 1.0
        filled = round(share * WIDTH)
        bar = "#" * filled + "-" * (WIDTH - filled)
        return f"{self._label} [{bar}] {self.done}/{self.total} {share:4.0%}"

    def advance(self, count: int) -> None:
        self.done = min(self.total, self.done + count)
        if not self._in_place:
            self._stream.write(self.line() + "\n")
        elif self.done == self.total or time.monotonic() - self._drawn >= REDRAW_EVERY:
            self._stream.write("\r" + self.line())
            self._drawn = time.monotonic()
        self._stream.flush()

    def close(self) -> None:
        if self._in_place:
            self._stream.write("\r" + self.line() + "\n")
            self._stream.flush()
