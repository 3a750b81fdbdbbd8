"""Structured run log: one JSON object per line (``run.log``), for operators and log shippers.

Each line has ``ts`` (UTC, ISO 8601), ``level`` (``info`` | ``warning`` | ``error``), ``run_id``,
``event`` (a dotted name such as ``scenarios.generated``) and the event's own fields.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

LEVELS = ("info", "warning", "error")


class RunLog:
    """Appends JSON lines to ``path``; also echoes warnings to ``echo`` (e.g. stderr) if given.

    Errors are not echoed: the command line prints the error that ends a run.
    """

    def __init__(self, path: str | Path, run_id: str, *, echo: TextIO | None = None) -> None:
        self.path = Path(path)
        self.run_id = run_id
        self.echo = echo
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")

    def event(self, event: str, level: str = "info", **fields: Any) -> dict[str, Any]:
        """Write one line and return the record written."""
        if level not in LEVELS:
            raise ValueError(f"log level must be one of {LEVELS}, got {level!r}")
        record = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": level,
            "run_id": self.run_id,
            "event": event,
            **{k: _plain(v) for k, v in fields.items()},
        }
        self._file.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
        self._file.flush()
        if self.echo is not None and level == "warning":
            message = fields.get("message")
            tail = f": {message}" if message else ""
            self.echo.write(f"energyhedge: {level}: {event}{tail}\n")
        return record

    @property
    def closed(self) -> bool:
        return self._file.closed

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_log(path: str | Path) -> list[dict[str, Any]]:
    """All records of a run log, in order."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _plain(value: Any) -> Any:
    """JSON-safe form: numpy scalars to Python, non-finite floats to strings, paths to str."""
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
