"""Reading TOML files with errors that name the file, the key and the reason.

Each domain module (campus, instruments, run profiles) turns a ``Table`` into its own frozen
dataclasses; this module only knows TOML and types.
"""

from __future__ import annotations

import math
import os
import re
import stat
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from energyhedge.errors import ConfigError
from energyhedge.safe_text import name_problem, shown

_MISSING = object()
MAX_CONFIG_BYTES = 1_000_000
"""Largest configuration file read (bytes); a larger one is refused, not loaded."""
MAX_TEXT_CHARS = 2_000
"""Longest string value accepted (characters)."""
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def load_toml(path: str | Path) -> Table:
    """Parse a TOML file into a ``Table`` rooted at the file; ConfigError if unreadable.

    Only regular UTF-8 files (a leading byte-order mark is allowed) of at most
    ``MAX_CONFIG_BYTES`` are read, so a FIFO, a device or a huge file cannot hang the command.
    """
    path = Path(path)
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise ConfigError(f"{path}: not a regular file; give a TOML file")
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES:,} bytes; not a configuration")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML: nested too deeply") from None
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
        wrong = (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds)
        if wrong or (isinstance(value, datetime) and datetime not in kinds):
            got = "a boolean" if isinstance(value, bool) else _name(type(value))
            raise self.error(key, f"expected {_names(kinds)}, got {got}")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(key, f"must be a finite number, got {value}")
        if isinstance(value, str):
            if len(value) > MAX_TEXT_CHARS:
                raise self.error(key, f"text longer than {MAX_TEXT_CHARS:,} characters")
            if _CONTROL.search(value):
                raise self.error(key, "text contains control characters")
        return value

    def number(
        self,
        key: str,
        default: Any = _MISSING,
        *,
        min_value: float | None = None,
        max_value: float | None = None,
    ) -> float:
        """A finite float at ``key``, bounded (inclusive) when given; ``default`` if absent."""
        value = self.get(key, (float, int), default)
        if key not in self.data:
            return None if value is None else float(value)
        value = float(value)
        if min_value is not None and value < min_value:
            raise self.error(key, f"must be >= {min_value:g}, got {value:g}")
        if max_value is not None and value > max_value:
            raise self.error(key, f"must be <= {max_value:g}, got {value:g}")
        return value

    def integer(
        self,
        key: str,
        default: Any = _MISSING,
        *,
        min_value: int | None = None,
        max_value: int | None = None,
    ) -> int:
        """A whole number at ``key`` (a TOML integer, not ``7.5`` or ``nan``), bounded when
        given; ``default`` if absent."""
        value = self.get(key, int, default)
        if key not in self.data:
            return value
        if min_value is not None and value < min_value:
            raise self.error(key, f"must be >= {min_value}, got {value}")
        if max_value is not None and value > max_value:
            raise self.error(key, f"must be <= {max_value}, got {value}")
        return value

    def name(self, key: str, default: Any = _MISSING) -> str:
        """A node, product or event name at ``key`` (``safe_text.NAME_RULE``)."""
        value = self.get(key, str, default)
        problem = None if value is default else name_problem(value)
        if problem is not None:
            raise self.error(key, f"{shown(value)}: {problem}")
        return value

    def choice(self, key: str, options: tuple[str, ...], default: Any = _MISSING) -> str:
        """A string at ``key`` that must be one of ``options``."""
        value = self.get(key, str, default)
        if value not in options:
            raise self.error(key, f"must be one of {', '.join(options)}; got {shown(value)}")
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
                plain = len(key) <= 40 and key.isprintable()
                raise self.error(
                    key if plain else shown(key, 40),
                    f"unknown key; expected one of {', '.join(sorted(known))}",
                )


def shown_path(path: str | Path) -> str:
    """``path`` relative to the working directory when inside it (outputs stay portable)."""
    path = Path(os.path.abspath(path))
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


_KIND_NAMES = {
    bool: "true or false",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "a table",
    datetime: "a date and time",
    date: "a date (YYYY-MM-DD)",
}


def _name(kind: type) -> str:
    return _KIND_NAMES.get(kind, kind.__name__)


def _names(kinds: tuple[type, ...]) -> str:
    return " or ".join(_name(k) for k in kinds if not (k is int and float in kinds))
