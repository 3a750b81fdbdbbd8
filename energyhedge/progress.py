"""A minimal progress bar for long work, shown only on an interactive terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Counts finished steps of a known total and redraws one stderr line at most 10 times a second.

    Silent when ``enabled`` is False, or when the stream is not a terminal (cron, pipes, tests).
    """

    def __init__(
        self, total: int, label: str, *, enabled: bool = True, stream: TextIO | None = None
    ) -> None:
        self.total = max(int(total), 0)
        self.label = label
        self.done = 0
        self._stream = stream if stream is not None else sys.stderr
        self._active = enabled and self._stream.isatty()
        self._last_draw = 0.0

    def advance(self, steps: int = 1) -> None:
        """Record ``steps`` more finished steps and redraw if due."""
        self.done = min(self.done + steps, self.total) if self.total else self.done + steps
        now = time.monotonic()
        if self._active and (now - self._last_draw >= 0.1 or self.done >= self.total):
            self._last_draw = now
            self._draw()

    def close(self) -> None:
        """Finish the line so later output starts on a fresh one."""
        if self._active:
            self._draw()
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self) -> None:
        width = 30
        frac = self.done / self.total if self.total else 1.0
        filled = round(frac * width)
        bar = "#" * filled + "-" * (width - filled)
        self._stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total}")
        self._stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
