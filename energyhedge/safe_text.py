"""Text that crosses a trust boundary: names read from files, cells written to CSV/XLSX outputs.

- :func:`name_problem` checks a node or product name against :data:`NAME_RULE` (importers refuse
  a row whose name breaks it, so no name can be a path, a control sequence or a formula).
- :func:`neutralise_formula` and :func:`neutralise_frame` make text cells inert in spreadsheets:
  a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with a
  single quote, as the OWASP "CSV Injection" guidance recommends, so Excel and LibreOffice show it
  as text instead of evaluating it. Every CSV/XLSX writer of the engine passes its frame through
  :func:`neutralise_frame`.
- :func:`shown` quotes a value for a one-line error message, cut to a bounded length.
"""

from __future__ import annotations

import re

import polars as pl

NAME_MAX_CHARS = 64
NAME_RULE = (
    f"1 to {NAME_MAX_CHARS} characters: ASCII letters, digits, space and _ - . ( ) # & , : + ', "
    "starting with a letter or digit, without '..'"
)
"""What a node or product name may be, in words for error messages."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _\-.()#&,:+']*")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA = r"^[=+\-@\t\r]"


def name_problem(name: object) -> str | None:
    """Why ``name`` is not an acceptable node/product name (see :data:`NAME_RULE`), or None."""
    if not isinstance(name, str) or not name:
        return "empty name"
    if len(name) > NAME_MAX_CHARS:
        return f"name longer than {NAME_MAX_CHARS} characters; allowed: {NAME_RULE}"
    if not _NAME.fullmatch(name) or ".." in name or name != name.strip():
        return f"name has characters that are not allowed; allowed: {NAME_RULE}"
    return None


def neutralise_formula(text: str) -> str:
    """``text`` prefixed with ``'`` when a spreadsheet would read it as a formula, else as is."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def neutralise_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with :func:`neutralise_formula` applied to every string column (others as is)."""
    text_columns = [name for name, dtype in frame.schema.items() if dtype == pl.Utf8]
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(_FORMULA))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name in text_columns
    )


def shown(value: object, limit: int = 60) -> str:
    """``repr(value)`` on one line, cut to about ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
