"""Reading TOML files with errors that name the file, the key and the reason.

Each domain module (campus, instruments, run profiles) turns a ``Table`` into its own frozen
dataclasses; this module only knows TOML and types.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from energyhedge.errors import ConfigError

_MISSING = object()


def load_toml(path: str | Path) -> Table:
    """Parse a TOML file into a ``Table`` rooted at the file; ConfigError if unreadable."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return Table(data, path, "")


@dataclass(frozen=True)
class Table:
    """A TOML table plus where it came from, with typed getters that explain failures."""

    data: dict[str, Any]
    path: Path
    prefix: str

    def where(self, key: str) -> str:
        """``file: key.path`` for messages."""
        return f"{self.path}: {self.prefix}{key}"

    def error(self, key: str, reason: str) -> ConfigError:
        """A ConfigError naming file, key and reason."""
        return ConfigError(f"{self.where(key)}: {reason}")

    def has(self, key: str) -> bool:
        return key in self.data

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = _MISSING) -> Any:
        """The value at ``key`` checked to be of ``kind`` (ints are accepted as floats)."""
        if key not in self.data:
            if default is _MISSING:
                raise self.error(key, "required key is missing")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, bool) and bool not in kinds:
            raise self.error(key, f"expected {_names(kinds)}, got a boolean")
        if not isinstance(value, kinds):
            raise self.error(key, f"expected {_names(kinds)}, got {type(value).__name__}")
        return value

    def number(
        self,
        key: str,
        default: Any = _MISSING,
        *,
        min_value: float | None = None,
        max_value: float | None = None,
    ) -> float:
        """A float at ``key``, optionally bounded (inclusive)."""
        value = self.get(key, (float, int), default)
        if value is None:
            return value
        value = float(value)
        if min_value is not None and value < min_value:
            raise self.error(key, f"must be >= {min_value:g}, got {value:g}")
        if max_value is not None and value > max_value:
            raise self.error(key, f"must be <= {max_value:g}, got {value:g}")
        return value

    def choice(self, key: str, options: tuple[str, ...], default: Any = _MISSING) -> str:
        """A string at ``key`` that must be one of ``options``."""
        value = self.get(key, str, default)
        if value not in options:
            raise self.error(key, f"must be one of {', '.join(options)}; got {value!r}")
        return value

    def table(self, key: str, default: Any = _MISSING) -> Table:
        """The sub-table at ``key``."""
        value = self.get(key, dict, {} if default is not _MISSING else _MISSING)
        return Table(value, self.path, f"{self.prefix}{key}.")

    def tables(self, key: str) -> list[Table]:
        """The array of tables at ``key`` (``[[key]]`` in TOML); empty if absent."""
        value = self.get(key, list, [])
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.error(f"{key}[{i}]", "expected a table")
            out.append(Table(item, self.path, f"{self.prefix}{key}[{i}]."))
        return out

    def reject_unknown(self, known: set[str]) -> None:
        """ConfigError for any key not in ``known`` (catches typos such as ``gird_limit_mw``)."""
        for key in self.data:
            if key not in known:
                raise self.error(key, f"unknown key; expected one of {', '.join(sorted(known))}")


def shown_path(path: str | Path) -> str:
    """``path`` relative to the working directory when inside it (outputs stay portable)."""
    path = Path(os.path.abspath(path))
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def _names(kinds: tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in kinds)
